import FTPBalancerConfig
import NIOCore

/// One virtual service's pool as the admin API shows it, copied under the pool's lock.
package struct PoolSnapshot: Sendable {
    package var service: String
    package var algorithm: BalancingAlgorithm
    package var healthCheck: HealthCheckKind
    package var servers: [ServerSnapshot]
}

/// One server of a pool with its run-time state.
package struct ServerSnapshot: Sendable {
    package var name: String
    package var address: Endpoint
    package var state: ServerAdminState
    package var health: Health
    package var lastCheck: LastCheck?
    package var activeSessions: Int
    package var weight: Int
    package var maxSessions: Int?
    package var backup: Bool
    /// Removed by a reload, still finishing its sessions.
    package var retired: Bool
    /// Settings changed through the admin API that the next reload will set back to the file's.
    package var adminOverride: PoolState.AdminOverride
    /// Bytes of the server's data connections that have ended (live ones are in the flows).
    package var bytesToClient = 0
    package var bytesToServer = 0

    package enum Health: String, Sendable {
        case up, down
        /// `health_check: none`: every enabled server counts as up.
        case unchecked
    }

    package struct LastCheck: Sendable {
        package var passed: Bool
        package var detail: String
        package var age: TimeAmount
    }
}

extension ServerPool {
    /// The pool as it is now; `now` dates the last health checks.
    package func snapshot(now: NIODeadline) -> PoolSnapshot {
        self.state.withLockedValue { state in
            PoolSnapshot(
                service: self.serviceName,
                algorithm: state.algorithm,
                healthCheck: state.healthCheck.kind,
                servers: state.members.map { member in
                    ServerSnapshot(
                        name: member.configuration.name,
                        address: member.configuration.address,
                        state: member.configuration.state,
                        health: state.checksEnabled ? (member.health == .up ? .up : .down) : .unchecked,
                        lastCheck: member.lastCheck.map {
                            .init(passed: $0.passed, detail: $0.detail, age: now - $0.at)
                        },
                        activeSessions: member.activeSessions,
                        weight: member.configuration.weight,
                        maxSessions: member.configuration.maxSessions,
                        backup: member.configuration.backup,
                        retired: member.retired,
                        adminOverride: member.adminOverride,
                        bytesToClient: member.bytesToClient,
                        bytesToServer: member.bytesToServer
                    )
                }
            )
        }
    }

    /// Applies an operator's change to the server of that name; nil if the pool has none.
    func administer(server name: String, _ action: PoolState.AdminAction) -> PoolState.AdminChange? {
        self.state.withLockedValue { state in
            state.member(named: name).flatMap { state.administer(id: $0.id, action) }
        }
    }

    /// The names an operator can give, in pool order.
    var serverNames: [String] {
        self.state.withLockedValue { $0.activeMembers.map(\.configuration.name) }
    }
}
