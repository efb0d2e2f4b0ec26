import NIOConcurrencyHelpers
import NIOCore

/// A repeated task on every event loop of the balancer that notes when it last ran: a loop
/// stuck in a handler, or gone, stops beating, and `/healthz` says so without having to wait
/// on the loop itself (which would hang the check on exactly the loop that is stuck).
final class EventLoopHeartbeat: Sendable {
    static let interval = TimeAmount.milliseconds(250)

    private let beats: NIOLockedValueBox<[NIODeadline?]>
    private let tasks: NIOLockedValueBox<[RepeatedTask]>

    init() {
        self.beats = NIOLockedValueBox([])
        self.tasks = NIOLockedValueBox([])
    }

    /// Starts beating on each loop of `group`; once only.
    func start(on group: any EventLoopGroup) {
        let loops = Array(group.makeIterator())
        self.beats.withLockedValue { $0 = Array(repeating: nil, count: loops.count) }
        let tasks = loops.enumerated().map { index, loop in
            loop.scheduleRepeatedTask(initialDelay: .zero, delay: Self.interval) { [beats = self.beats] _ in
                let now = NIODeadline.now()
                beats.withLockedValue { $0[index] = now }
            }
        }
        self.tasks.withLockedValue { $0 = tasks }
    }

    func stop() {
        for task in self.tasks.withLockedValue({ $0 }) { task.cancel() }
    }

    /// Each loop's last beat; empty before `start`.
    var lastBeats: [NIODeadline?] {
        self.beats.withLockedValue { $0 }
    }
}
