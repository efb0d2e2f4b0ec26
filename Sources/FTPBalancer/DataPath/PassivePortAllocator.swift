import NIOConcurrencyHelpers
import NIOCore

/// Hands out ports of a virtual service's passive range, each to one listener at a time.
/// Shared by the sessions of every event loop, hence the lock; the critical section is short.
package final class PassivePortAllocator: Sendable {
    /// How long a released port still counts as expecting its connection: a watcher that sees
    /// connection attempts a little after the kernel (`PassiveRangeWatch`) must not call the
    /// client's own connection, accepted and its port released meanwhile, a stray one.
    static let releaseGrace = TimeAmount.seconds(2)

    private struct State {
        var inUse: Set<Int> = []
        var cursor: Int
        /// The client each port held was handed out for.
        var clients: [Int: String] = [:]
        /// When each port was last released, and for which client; one entry per port at most.
        var released: [Int: (time: NIODeadline, client: String)] = [:]
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
    package func allocate(for client: String = "") -> Int? {
        self.state.withLockedValue { state in
            guard state.inUse.count < self.range.count else { return nil }
            while true {
                let port = state.cursor
                state.cursor = port == self.range.upperBound ? self.range.lowerBound : port + 1
                if state.inUse.insert(port).inserted {
                    state.clients[port] = client
                    return port
                }
            }
        }
    }

    package func release(_ port: Int, now: NIODeadline = .now()) {
        self.state.withLockedValue { state in
            if state.inUse.remove(port) != nil {
                state.released[port] = (now, state.clients.removeValue(forKey: port) ?? "")
            }
        }
    }

    /// Whether a connection attempt from `client` to `port` is one this node has a listener
    /// for, or had until less than `releaseGrace` ago for that client. A port held for another
    /// client counts as expected too: its listener sees the connection and refuses it itself.
    package func expects(_ port: Int, from client: String, now: NIODeadline = .now()) -> Bool {
        self.state.withLockedValue { state in
            if state.inUse.contains(port) { return true }
            guard let released = state.released[port], now - released.time < Self.releaseGrace else { return false }
            return released.client == client
        }
    }

    package var inUseCount: Int {
        self.state.withLockedValue { $0.inUse.count }
    }
}
