import FTPBalancer
import FTPBalancerConfig

/// `GET /api/v1/services`.
package struct ServicesAnswer: Codable, Equatable, Sendable {
    package var services: [ServiceView]
}

/// A virtual service as the services view shows it.
package struct ServiceView: Codable, Equatable, Sendable {
    package var name: String
    /// The first listener's, as for a service of one listener.
    package var listen: String
    package var advertise: String
    /// A service with a listen list: each listener and the address its clients are given.
    package var listeners: [ListenerView]
    package var dataTransferPolicy: String
    /// `40000-40999`.
    package var passivePorts: String
    package var algorithm: String
    package var clientAddress: String
    package var activeSourcePort: Int
    /// How many servers its pool has.
    package var servers: Int
    package var activeSessions: Int

    enum CodingKeys: String, CodingKey {
        case name, listen, advertise, listeners, algorithm, servers
        case dataTransferPolicy = "data_transfer_policy"
        case passivePorts = "passive_ports"
        case clientAddress = "client_address"
        case activeSourcePort = "active_source_port"
        case activeSessions = "active_sessions"
    }

    package struct ListenerView: Codable, Equatable, Sendable {
        package var listen: String
        package var advertise: String
    }
}

extension ServiceView {
    init(_ service: VirtualService, activeSessions: Int) {
        let configuration = service.configuration
        self.init(
            name: service.name,
            listen: configuration.listen.description,
            advertise: configuration.advertisedAddress,
            listeners: configuration.listeners.map {
                ListenerView(listen: $0.endpoint.description, advertise: $0.advertisedAddress)
            },
            dataTransferPolicy: configuration.dataTransferPolicy.rawValue,
            passivePorts: "\(configuration.passivePorts.lowerBound)-\(configuration.passivePorts.upperBound)",
            algorithm: configuration.algorithm.rawValue,
            clientAddress: configuration.clientAddress.rawValue,
            activeSourcePort: configuration.activeSourcePort,
            servers: configuration.servers.count,
            activeSessions: activeSessions
        )
    }
}

/// `GET /api/v1/stats`.
package struct StatsAnswer: Codable, Equatable, Sendable {
    package var services: [ServiceStatsView]
}

/// A virtual service's counters since the balancer started, kept across reloads.
package struct ServiceStatsView: Codable, Equatable, Sendable {
    package var service: String
    package var sessionsTotal: Int
    package var sessionsActive: Int
    /// By mode as the client asked for it: `pasv`, `epsv`, `port`, `eprt`.
    package var dataConnections: [String: Int]
    package var rewrittenReplies: Int
    /// Sessions turned away and commands refused, by reason.
    package var refusals: [String: Int]
    package var bytesToClient: Int
    package var bytesToServer: Int

    enum CodingKeys: String, CodingKey {
        case service, refusals
        case sessionsTotal = "sessions_total"
        case sessionsActive = "sessions_active"
        case dataConnections = "data_connections"
        case rewrittenReplies = "rewritten_replies"
        case bytesToClient = "bytes_to_client"
        case bytesToServer = "bytes_to_server"
    }
}

extension ServiceStatsView {
    init(_ service: VirtualService, activeSessions: Int) {
        let counters = service.statistics.current
        self.init(
            service: service.name,
            sessionsTotal: counters.sessions,
            sessionsActive: activeSessions,
            dataConnections: Dictionary(
                uniqueKeysWithValues: DataConnectionMode.allCases.map {
                    ($0.rawValue, counters.dataConnections[$0, default: 0])
                }
            ),
            rewrittenReplies: counters.rewrittenReplies,
            refusals: counters.refusals,
            bytesToClient: counters.bytesToClient,
            bytesToServer: counters.bytesToServer
        )
    }
}
