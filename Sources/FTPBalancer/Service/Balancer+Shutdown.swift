import FTPBalancerConfig

extension Balancer {
    /// What a graceful shutdown is about to wait for, said the moment it starts:
    /// `shutting down: waiting up to 30s for 2 transfers (5 sessions); ...`.
    package func shutdownNotice() async -> String {
        let grace = self.state.withLockedValue { $0.configuration.shutdownGrace }
        let sessions = (try? await self.sessionSnapshots()) ?? []
        let transfers = sessions.reduce(0) { $0 + $1.dataFlows.count }
        return Self.shutdownNotice(grace: grace, sessions: sessions.count, transfers: transfers)
    }

    static func shutdownNotice(grace: Duration, sessions: Int, transfers: Int) -> String {
        let sessionCount = "\(sessions) \(sessions == 1 ? "session" : "sessions")"
        guard transfers > 0 else {
            return "shutting down: no transfer under way; ending \(sessionCount); new connections get 421"
        }
        return "shutting down: waiting up to \(grace.shortText) for \(transfers) "
            + "\(transfers == 1 ? "transfer" : "transfers") (\(sessionCount)); new connections get 421; "
            + "send SIGTERM or SIGINT again to stop now"
    }

    /// A second SIGTERM/SIGINT: stop waiting for running transfers and close what is left.
    package func endGraceNow() {
        self.graceEnded.withLockedValue { $0 = true }
    }

    /// After an upgrade's hand-over, first waits for the sessions to end by themselves. Then:
    /// new connections get a 421 from now on; idle sessions end at once, sessions with a
    /// transfer in flight after it; whatever is left after the grace period, or when
    /// `endGraceNow` is called, is closed.
    func drainSessions() async {
        if await self.waitForSessionsToEnd() {
            self.logger.notice("every session has ended")
            return
        }
        let grace = self.state.withLockedValue { $0.configuration.shutdownGrace }
        self.logger.debug(
            "draining sessions",
            metadata: ["ftp.sessions": "\(self.sessions.count)", "ftp.grace": "\(grace.shortText)"]
        )
        self.sessions.beginShutdown()
        let deadline = ContinuousClock.now + grace
        while self.sessions.count > 0, ContinuousClock.now < deadline, !self.graceEnded.withLockedValue({ $0 }) {
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                break
            }
        }
        let left = self.sessions.count
        guard left > 0 else {
            self.logger.notice("every session has ended")
            return
        }
        let why = self.graceEnded.withLockedValue { $0 } ? "stopping now" : "shutdown grace period over"
        self.logger.warning("\(why); closing the sessions left", metadata: ["ftp.sessions": "\(left)"])
        self.sessions.forceShutdown()
        // Long enough for the 421s to be written before the event loops stop.
        try? await Task.sleep(for: .milliseconds(200))
    }
}
