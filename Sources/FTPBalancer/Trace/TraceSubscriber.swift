import NIOConcurrencyHelpers

/// One reader of a trace: the sessions it follows push events into a bounded buffer, so
/// that a slow reader never holds a session. What does not fit is counted, and the reader is
/// told how many events it missed once there is room again.
package final class TraceSubscriber: Sendable {
    /// Which sessions the reader follows.
    package enum Scope: Equatable, Sendable, CustomStringConvertible {
        /// One session; the trace ends with it.
        case session(Int)
        /// Every session of this client address, those that start later too.
        case client(String)

        package var description: String {
            switch self {
            case .session(let id): "session \(id)"
            case .client(let host): "client \(host)"
            }
        }
    }

    package static let defaultCapacity = 1000

    package let scope: Scope
    package let events: AsyncStream<TraceEvent>
    private let continuation: AsyncStream<TraceEvent>.Continuation
    private let dropped = NIOLockedValueBox(0)

    package init(scope: Scope, capacity: Int = TraceSubscriber.defaultCapacity) {
        self.scope = scope
        (self.events, self.continuation) = AsyncStream.makeStream(
            of: TraceEvent.self,
            bufferingPolicy: .bufferingOldest(capacity)
        )
    }

    /// Queues the event, or counts it as dropped; never waits.
    func deliver(_ event: TraceEvent) {
        self.dropped.withLockedValue { dropped in
            if dropped > 0 {
                var notice = event
                notice.direction = .event
                notice.line = "\(dropped) events dropped: the trace reader is too slow"
                notice.event = TraceEvent.droppedEvents
                notice.dropped = dropped
                guard case .enqueued = self.continuation.yield(notice) else {
                    dropped += 1
                    return
                }
                dropped = 0
            }
            if case .dropped = self.continuation.yield(event) {
                dropped += 1
            }
        }
    }

    /// Ends the stream: the reader sees the end after what is buffered.
    package func finish() {
        self.continuation.finish()
    }

    /// Called once when the stream ends, by `finish()` or because the reader went away.
    func onTermination(_ body: @escaping @Sendable () -> Void) {
        self.continuation.onTermination = { _ in body() }
    }

    /// Events dropped and not yet reported to the reader.
    package var pendingDropped: Int {
        self.dropped.withLockedValue { $0 }
    }
}
