import FTPBalancerConfig
import Logging

/// Where an upgrade's drain stands in the process that handed its listeners over.
enum UpgradeDrain: Equatable, Sendable {
    /// No upgrade: a shutdown ends idle sessions at once.
    case none
    /// The successor serves the listeners: running sessions go on until they end by themselves.
    case waiting
    /// A SIGTERM or `upgrade_drain` ended the wait: the shutdown goes on as a normal one.
    case over
}

extension Balancer {
    /// An upgrade: the successor process accepts on the listening sockets now, so this one stops
    /// accepting (the sockets stay open in the successor, with their accept queues) and lets
    /// its running sessions end by themselves. The caller then starts the graceful shutdown.
    package func handOver(successor: Int32) async {
        self.upgradeDrain.withLockedValue { $0 = .waiting }
        await self.listeningSockets.handOver()
        // The new process's data connections would all look misrouted to this one's watch.
        self.rangeWatches.stopAll()
        self.logger.notice(
            "upgrade: the new process serves the listeners; the sessions running here go on until they end",
            metadata: ["ftp.successor_pid": "\(successor)", "ftp.sessions": "\(self.sessions.count)"]
        )
    }

    /// A successor: the previous process still serves its data connections on the passive
    /// ranges, which the watch for misrouted data connections would count; it waits.
    package func predecessorDraining() {
        self.rangeWatches.hold()
    }

    /// The previous process has exited: the passive ranges are this process's alone.
    package func predecessorExited() {
        self.logger.notice("upgrade: the previous process has exited")
        self.rangeWatches.resume()
    }

    /// A SIGTERM after the hand-over: stop waiting for sessions to end by themselves; true if the
    /// process was waiting.
    package func endUpgradeDrain() -> Bool {
        self.upgradeDrain.withLockedValue { drain in
            guard drain == .waiting else { return false }
            drain = .over
            return true
        }
    }

    /// After a hand-over: waits until every session has ended, `upgrade_drain` is over or a
    /// SIGTERM ends the wait; true when no session is left.
    func waitForSessionsToEnd() async -> Bool {
        guard self.upgradeDrain.withLockedValue({ $0 }) == .waiting else { return false }
        let limit = self.state.withLockedValue { $0.configuration.upgradeDrain }
        let deadline = ContinuousClock.now + limit
        while self.sessions.count > 0, ContinuousClock.now < deadline,
            self.upgradeDrain.withLockedValue({ $0 }) == .waiting
        {
            do {
                try await Task.sleep(for: .milliseconds(100))
            } catch {
                break
            }
        }
        let left = self.sessions.count
        guard left > 0 else { return true }
        let why =
            self.upgradeDrain.withLockedValue { $0 } == .waiting
            ? "upgrade_drain (\(limit.shortText)) is over" : "SIGTERM or SIGINT"
        self.upgradeDrain.withLockedValue { $0 = .over }
        self.logger.notice(
            "upgrade: \(why); shutting down the sessions left as on SIGTERM",
            metadata: ["ftp.sessions": "\(left)"]
        )
        return false
    }
}
