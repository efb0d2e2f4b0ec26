import NIOConcurrencyHelpers

/// Hands out ports of a virtual service's passive range, each to one listener at a time.
/// Shared by the sessions of every event loop, hence the lock; the critical section is short.
package final class PassivePortAllocator: Sendable {
    private struct State {
        var inUse: Set<Int> = []
        var cursor: Int
    }

    package let range: ClosedRange<Int>
    private let state: NIOLockedValueBox<State>

    package init(range: ClosedRange<Int>) {
        self.range = range
        self.state = NIOLockedValueBox(State(cursor: range.lowerBound))
    }

    /// A free port, or nil when the whole range is in use. Ports are taken in turn rather than
    /// lowest first, so that a port just released (its old connection perhaps in TIME_WAIT, or a
    /// late client still trying it) is reused last.
    package func allocate() -> Int? {
        self.state.withLockedValue { state in
            guard state.inUse.count < self.range.count else { return nil }
            while true {
                let port = state.cursor
                state.cursor = port == self.range.upperBound ? self.range.lowerBound : port + 1
                if state.inUse.insert(port).inserted {
                    return port
                }
            }
        }
    }

    package func release(_ port: Int) {
        _ = self.state.withLockedValue { $0.inUse.remove(port) }
    }

    package var inUseCount: Int {
        self.state.withLockedValue { $0.inUse.count }
    }
}
