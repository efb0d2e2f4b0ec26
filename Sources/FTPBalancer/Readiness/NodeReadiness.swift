import NIOCore

/// Whether this node can take sessions now: what `GET /healthz` answers, and what keepalived's
/// check script or a BGP speaker acts on. Local facts only, never the servers': every node of a
/// pair or a tier sees the same servers, and a health that followed them would move the VIP back
/// and forth between nodes that are equally unable to help.
package struct NodeReadiness: Equatable, Sendable {
    package enum Problem: Equatable, Sendable {
        case shuttingDown
        /// A virtual service of the running configuration has no bound listener.
        case notListening(service: String, listen: String)
        /// A SwiftNIO event loop (control sessions, the copying relay) has not run its heartbeat.
        case eventLoopStalled(index: Int, silentFor: TimeAmount?)
        /// A splice relay thread has not gone round its loop.
        case relayThreadStalled(index: Int, silentFor: TimeAmount?)
    }

    package var problems: [Problem]

    package var isReady: Bool { self.problems.isEmpty }

    /// One sentence for the operator: why the node is not ready (the first problem, and how
    /// many more there are), or that it is.
    package var reason: String {
        guard let first = self.problems.first else {
            return "every listener is bound and every event loop and relay thread is running"
        }
        let more = self.problems.count - 1
        return first.text + (more > 0 ? " (and \(more) more problem\(more == 1 ? "" : "s"))" : "")
    }
}

extension NodeReadiness.Problem {
    var text: String {
        switch self {
        case .shuttingDown:
            return "shutting down"
        case .notListening(let service, let listen):
            return "virtual service '\(service)' is not listening on \(listen)"
        case .eventLoopStalled(let index, let silence):
            return "event loop \(index) \(Self.silence(silence))"
        case .relayThreadStalled(let index, let silence):
            return "splice relay thread \(index) \(Self.silence(silence))"
        }
    }

    private static func silence(_ silence: TimeAmount?) -> String {
        guard let silence else { return "has not started" }
        return "has not answered for \(silence.nanoseconds / 1_000_000) ms"
    }
}

/// What readiness is judged from, gathered by the balancer when asked. Pure, so that each rule
/// has a test with its own clock.
package struct ReadinessFacts: Sendable {
    /// A virtual service of the running configuration and whether its listener is bound.
    package struct Listener: Sendable {
        package var service: String
        package var listen: String
        package var bound: Bool

        package init(service: String, listen: String, bound: Bool) {
            self.service = service
            self.listen = listen
            self.bound = bound
        }
    }

    /// Event loops beat every quarter second and relay threads go round at least every second:
    /// several missed beats in a row is a thread stuck, not a busy one.
    package static let stallLimit = TimeAmount.seconds(3)

    package var shuttingDown: Bool
    package var listeners: [Listener]
    /// Each event loop's last heartbeat; nil before its first.
    package var eventLoopBeats: [NIODeadline?]
    /// Each splice relay thread's last turn; nil before its first or after it stopped. Empty
    /// for the copying relay, which runs on the event loops.
    package var relayThreadTurns: [NIODeadline?]
    package var now: NIODeadline

    package init(
        shuttingDown: Bool,
        listeners: [Listener],
        eventLoopBeats: [NIODeadline?],
        relayThreadTurns: [NIODeadline?],
        now: NIODeadline
    ) {
        self.shuttingDown = shuttingDown
        self.listeners = listeners
        self.eventLoopBeats = eventLoopBeats
        self.relayThreadTurns = relayThreadTurns
        self.now = now
    }

    package func assess() -> NodeReadiness {
        var problems: [NodeReadiness.Problem] = []
        if self.shuttingDown { problems.append(.shuttingDown) }
        for listener in self.listeners where !listener.bound {
            problems.append(.notListening(service: listener.service, listen: listener.listen))
        }
        for (index, beat) in self.eventLoopBeats.enumerated() {
            if let silence = self.stalled(beat) { problems.append(.eventLoopStalled(index: index, silentFor: silence)) }
        }
        for (index, turn) in self.relayThreadTurns.enumerated() {
            if let silence = self.stalled(turn) {
                problems.append(.relayThreadStalled(index: index, silentFor: silence))
            }
        }
        return NodeReadiness(problems: problems)
    }

    /// nil when the thread is live; otherwise how long it has been silent (nil inside: never ran).
    private func stalled(_ last: NIODeadline?) -> TimeAmount?? {
        guard let last else { return .some(nil) }
        let silence = self.now - last
        return silence > Self.stallLimit ? .some(silence) : nil
    }
}
