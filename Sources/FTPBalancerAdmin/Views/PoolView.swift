import FTPBalancer
import NIOCore

/// `GET /api/v1/pools`.
package struct PoolsAnswer: Codable, Equatable, Sendable {
    package var pools: [PoolView]
}

/// A virtual service's pool of servers.
package struct PoolView: Codable, Equatable, Sendable {
    package var service: String
    package var algorithm: String
    package var healthCheck: String
    package var servers: [ServerView]

    enum CodingKeys: String, CodingKey {
        case service, algorithm, servers
        case healthCheck = "health_check"
    }
}

/// One server of a pool: its state, health and load.
package struct ServerView: Codable, Equatable, Sendable {
    package var name: String
    package var address: String
    package var state: String
    package var health: String
    /// `null` before the first check.
    @Nullable package var lastCheck: CheckView?
    package var activeSessions: Int
    package var weight: Int
    /// `null` without a limit.
    @Nullable package var maxSessions: Int?
    package var backup: Bool
    /// Removed by a reload, still finishing its sessions.
    package var retired: Bool
    /// Only the settings an operator changed through the API.
    package var adminOverride: OverrideView
    /// Of its ended data connections.
    package var bytesToClient: Int
    package var bytesToServer: Int

    enum CodingKeys: String, CodingKey {
        case name, address, state, health, weight, backup, retired
        case lastCheck = "last_check"
        case activeSessions = "active_sessions"
        case maxSessions = "max_sessions"
        case adminOverride = "admin_override"
        case bytesToClient = "bytes_to_client"
        case bytesToServer = "bytes_to_server"
    }

    package struct CheckView: Codable, Equatable, Sendable {
        package var passed: Bool
        package var detail: String
        package var secondsAgo: Double

        enum CodingKeys: String, CodingKey {
            case passed, detail
            case secondsAgo = "seconds_ago"
        }
    }

    /// A setting absent here is the file's: these fields are left out, not `null`.
    package struct OverrideView: Codable, Equatable, Sendable {
        package var state: String?
        package var weight: Int?
    }
}

extension PoolView {
    init(_ pool: PoolSnapshot) {
        self.init(
            service: pool.service,
            algorithm: pool.algorithm.rawValue,
            healthCheck: pool.healthCheck.rawValue,
            servers: pool.servers.map(ServerView.init)
        )
    }
}

extension ServerView {
    init(_ server: ServerSnapshot) {
        self.init(
            name: server.name,
            address: server.address.description,
            state: server.state.rawValue,
            health: server.health.rawValue,
            lastCheck: server.lastCheck.map {
                CheckView(passed: $0.passed, detail: $0.detail, secondsAgo: $0.age.seconds)
            },
            activeSessions: server.activeSessions,
            weight: server.weight,
            maxSessions: server.maxSessions,
            backup: server.backup,
            retired: server.retired,
            adminOverride: OverrideView(
                state: server.adminOverride.state?.rawValue,
                weight: server.adminOverride.weight
            ),
            bytesToClient: server.bytesToClient,
            bytesToServer: server.bytesToServer
        )
    }
}

extension TimeAmount {
    /// Seconds to the millisecond: enough for people, short in JSON.
    var seconds: Double {
        Double(self.nanoseconds / 1_000_000) / 1000
    }
}
