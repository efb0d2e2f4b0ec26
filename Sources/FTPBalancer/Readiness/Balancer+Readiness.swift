import NIOCore

extension Balancer {
    /// Whether this node can serve now, from its own state only (see `NodeReadiness`). Cheap and
    /// never waits on a loop: each fact is read from what the loops and threads last noted.
    package func readiness(now: NIODeadline = .now()) -> NodeReadiness {
        ReadinessFacts(
            shuttingDown: self.sessions.isShuttingDown,
            listeners: self.listenerFacts,
            eventLoopBeats: self.heartbeat.lastBeats,
            relayThreadTurns: self.dataPath.relayThreadTurns,
            now: now
        ).assess()
    }
}
