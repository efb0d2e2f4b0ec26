import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The real FTP servers of one virtual service, shared by its sessions, its health checks and
/// reloads: `PoolState` behind a lock. It outlives reloads, so sessions started before one
/// still release the server they hold.
package final class ServerPool: Sendable {
    package let serviceName: String
    let state: NIOLockedValueBox<PoolState>
    private let logger: Logger

    package init(configuration: VirtualServiceConfiguration, logger: Logger) {
        self.serviceName = configuration.name
        self.state = NIOLockedValueBox(PoolState(configuration: configuration))
        var logger = logger
        logger[metadataKey: "ftp.service"] = "\(configuration.name)"
        self.logger = logger
    }

    /// Applies a reloaded configuration of the same virtual service.
    /// Admin changes are dropped: the file wins, and each one it replaced is logged.
    func apply(_ configuration: VirtualServiceConfiguration) {
        let reverted = self.state.withLockedValue { $0.apply(configuration) }
        for change in reverted {
            self.logger.notice(
                "reload: the file's setting replaces an admin change",
                metadata: [
                    "ftp.server": "\(change.server)", "ftp.setting": "\(change.setting)",
                    "ftp.admin_value": "\(change.from)", "ftp.file_value": "\(change.to)",
                ]
            )
        }
    }

    /// Picks the server for a new session, or says why there is none. The lease must be given
    /// back exactly once, through `connectFailed` or `release`.
    func select(for key: PoolState.SelectionKey, excluding tried: Set<Int>) -> Result<ServerLease, PoolRefusal> {
        switch self.state.withLockedValue({ $0.select(for: key, excluding: tried) }) {
        case .server(let id, let configuration):
            return .success(ServerLease(pool: self, memberID: id, server: configuration))
        case .refused(let refusal):
            return .failure(PoolRefusal(reason: refusal))
        }
    }

    func connected(_ lease: ServerLease, latency: TimeAmount) {
        self.state.withLockedValue { $0.sessionConnected(id: lease.memberID, latency: latency) }
    }

    func connectFailed(_ lease: ServerLease, reason: String) {
        let change = self.state.withLockedValue { $0.sessionConnectFailed(id: lease.memberID, reason: reason) }
        change.map(self.log)
    }

    /// Once per data connection, never per byte: the lock stays off the data path.
    func dataConnectionEnded(_ lease: ServerLease, _ report: DataFlowReport) {
        self.state.withLockedValue {
            $0.dataConnectionEnded(
                id: lease.memberID,
                bytesToClient: report.bytesToClient,
                bytesToServer: report.bytesToServer
            )
        }
    }

    func release(_ lease: ServerLease) {
        self.state.withLockedValue { $0.sessionEnded(id: lease.memberID) }
    }

    // MARK: Health checks

    /// The health check settings in force, and the checks due now.
    func dueChecks(now: NIODeadline) -> (HealthCheckConfiguration, [PoolState.DueCheck]) {
        self.state.withLockedValue { state in
            let due = state.dueChecks(now: now)
            return (state.healthCheck, due)
        }
    }

    func checkFinished(_ check: PoolState.DueCheck, result: HealthProbeResult) {
        let change = self.state.withLockedValue {
            $0.checkFinished(
                id: check.id,
                passed: result.passed,
                detail: result.detail,
                connectLatency: result.connectLatency,
                now: .now()
            )
        }
        if !result.passed {
            self.logger.debug(
                "health check failed",
                metadata: [
                    "ftp.server": "\(check.configuration.name)", "ftp.check.detail": "\(result.detail)",
                    "ftp.check.ms": "\(result.duration.nanoseconds / 1_000_000)",
                ]
            )
        }
        change.map(self.log)
    }

    private func log(_ change: PoolState.HealthChange) {
        let metadata: Logger.Metadata = ["ftp.server": "\(change.server)", "ftp.reason": "\(change.reason)"]
        switch change.health {
        case .down: self.logger.warning("server is down", metadata: metadata)
        case .up: self.logger.notice("server is up", metadata: metadata)
        }
    }
}

/// One session's claim on a server: counted in the server's running sessions until released.
struct ServerLease: Sendable {
    let pool: ServerPool
    let memberID: Int
    let server: ServerConfiguration
}

/// Why the pool had no server for a session.
struct PoolRefusal: Error, Equatable {
    var reason: PoolState.Refusal
}
