import FTPProtocol

/// The whole running configuration of one `ftplb` process: what `ftplb run` builds from a YAML
/// file or from the quick command-line flags, after validation.
package struct BalancerConfiguration: Equatable, Sendable {
    package var logLevel: LogLevel
    package var virtualServices: [VirtualServiceConfiguration]
    /// How long running transfers may continue after SIGTERM or SIGINT before the balancer
    /// closes what is left.
    package var shutdownGrace: Duration
    /// After an upgrade has handed the listeners to a new process, how long the old one lets
    /// its sessions end by themselves before it shuts down as on SIGTERM.
    package var upgradeDrain: Duration = .seconds(600)
    /// The host plumbing that `client_address: transparent` relies on.
    package var transparent: TransparentConfiguration
    /// The admin HTTP API; fixed at start (a reload does not move or re-key it).
    package var admin: AdminConfiguration
    /// One line per finished transfer; nil writes none. A reload may move or switch it.
    package var transferLog: TransferLogConfiguration?
    /// How data connections are relayed; fixed at start.
    package var dataPath: DataPathConfiguration

    package init(
        logLevel: LogLevel = .info,
        virtualServices: [VirtualServiceConfiguration],
        shutdownGrace: Duration = .seconds(30),
        transparent: TransparentConfiguration = TransparentConfiguration(),
        admin: AdminConfiguration = AdminConfiguration(),
        transferLog: TransferLogConfiguration? = nil,
        dataPath: DataPathConfiguration = DataPathConfiguration()
    ) {
        self.logLevel = logLevel
        self.virtualServices = virtualServices
        self.shutdownGrace = shutdownGrace
        self.transparent = transparent
        self.admin = admin
        self.transferLog = transferLog
        self.dataPath = dataPath
    }

    /// The services whose upstream connections leave from the client's address.
    package var transparentServices: [VirtualServiceConfiguration] {
        self.virtualServices.filter { $0.clientAddress == .transparent }
    }
}

/// Transparent mode: packets of the balancer's transparent sockets are marked with `fwmark`
/// and routed by table `routeTable`, whose only route delivers everything locally.
package struct TransparentConfiguration: Equatable, Sendable {
    package var fwmark: UInt32
    package var routeTable: Int

    package init(fwmark: UInt32 = 0x1, routeTable: Int = 100) {
        self.fwmark = fwmark
        self.routeTable = routeTable
    }
}

/// Log levels as swift-log names them, spelled as they are in the YAML file.
package enum LogLevel: String, Equatable, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// One listener (VIP:port) with its pool and its data-connection settings.
package struct VirtualServiceConfiguration: Equatable, Sendable {
    package var name: String
    /// Where the balancer accepts control connections.
    package var listen: Endpoint
    /// The address written into PASV/EPSV replies and used as the source of active-mode data
    /// connections towards clients. Defaults to the listen address; required for a wildcard.
    package var advertisedAddress: String
    /// Ports opened on the advertised address for passive data connections.
    package var passivePorts: ClosedRange<Int>
    /// Local address for connections towards the servers; nil lets the kernel choose.
    package var sourceAddress: String?
    /// Source port of active-mode data connections to clients; 0 lets the kernel choose.
    package var activeSourcePort: Int
    package var servers: [ServerConfiguration]
    package var timeouts: TimeoutConfiguration
    package var algorithm: BalancingAlgorithm
    /// Used only with `algorithm: per_user`.
    package var userRouting: UserRoutingConfiguration
    package var healthCheck: HealthCheckConfiguration
    package var limits: SessionLimitConfiguration
    /// The text of the 421 reply a client gets when no server can take its session.
    package var unavailableMessage: String
    /// `greeting`: the text of the balancer's own `220`, after which it connects to a server only
    /// at USER; nil (the default) connects at once and relays the server's greeting.
    package var greeting: String?
    /// How the servers learn the client's address.
    package var clientAddress: ClientAddressMode
    /// Listen and bind the advertised address even while the host does not hold it (IP_FREEBIND):
    /// the standby of a keepalived pair is ready before the VIP moves to it.
    package var listenFreebind: Bool
    /// The listeners of a `listen` list after the first (`listen`, `advertisedAddress`).
    package var otherListeners: [ListenerConfiguration]
    /// The data-connection verb the servers get, whatever the client sent.
    package var dataTransferPolicy: DataTransferPolicy
    /// FTPS towards the clients; nil: plain FTP only, and `AUTH` gets 534.
    package var tls: ClientTLSConfiguration?
    /// FTPS towards the servers; nil: plain FTP to them.
    package var serverTLS: ServerTLSConfiguration? = nil

    package static let defaultUnavailableMessage = "Service not available: no FTP server is reachable."

    /// The greeting the balancer sends itself before USER, if it does: `per_user` always needs
    /// the user first; any other algorithm when `greeting` is set. Nil: the server greets.
    package var balancerGreeting: String? {
        self.algorithm == .perUser ? self.userRouting.greeting : self.greeting
    }

    package init(
        name: String,
        listen: Endpoint,
        advertisedAddress: String,
        passivePorts: ClosedRange<Int>,
        sourceAddress: String? = nil,
        activeSourcePort: Int = 20,
        servers: [ServerConfiguration],
        timeouts: TimeoutConfiguration = TimeoutConfiguration(),
        algorithm: BalancingAlgorithm = .roundRobin,
        userRouting: UserRoutingConfiguration = UserRoutingConfiguration(),
        healthCheck: HealthCheckConfiguration = HealthCheckConfiguration(),
        limits: SessionLimitConfiguration = SessionLimitConfiguration(),
        unavailableMessage: String = VirtualServiceConfiguration.defaultUnavailableMessage,
        greeting: String? = nil,
        clientAddress: ClientAddressMode = .none,
        listenFreebind: Bool = false,
        otherListeners: [ListenerConfiguration] = [],
        dataTransferPolicy: DataTransferPolicy = .client,
        tls: ClientTLSConfiguration? = nil
    ) {
        self.name = name
        self.listen = listen
        self.advertisedAddress = advertisedAddress
        self.passivePorts = passivePorts
        self.sourceAddress = sourceAddress
        self.activeSourcePort = activeSourcePort
        self.servers = servers
        self.timeouts = timeouts
        self.algorithm = algorithm
        self.userRouting = userRouting
        self.healthCheck = healthCheck
        self.limits = limits
        self.unavailableMessage = unavailableMessage
        self.greeting = greeting
        self.clientAddress = clientAddress
        self.listenFreebind = listenFreebind
        self.otherListeners = otherListeners
        self.dataTransferPolicy = dataTransferPolicy
        self.tls = tls
    }
}

/// One real FTP server of a pool.
package struct ServerConfiguration: Equatable, Sendable {
    /// A name for logs; defaults to the address as written.
    package var name: String
    package var address: Endpoint
    /// Share of new sessions relative to the other servers, for the weighted algorithms.
    package var weight: Int
    /// Running sessions at which the server takes no more; nil is unlimited.
    package var maxSessions: Int?
    /// Used only while no primary (non-backup) server is up.
    package var backup: Bool
    package var state: ServerAdminState

    package init(
        name: String,
        address: Endpoint,
        weight: Int = 1,
        maxSessions: Int? = nil,
        backup: Bool = false,
        state: ServerAdminState = .enabled
    ) {
        self.name = name
        self.address = address
        self.weight = weight
        self.maxSessions = maxSessions
        self.backup = backup
        self.state = state
    }
}

/// An IP literal and a port. Host names are not accepted: a balancer must not depend on DNS
/// to start.
package struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 or IPv6 literal, without brackets.
    package var host: String
    package var port: Int

    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Read per session. A byte search: `contains(":")` on a String resolves to Foundation's
    /// (through Yams), which bridges to NSString, for a few microseconds each time.
    package var isIPv6: Bool { self.host.utf8.contains(UInt8(ascii: ":")) }

    /// True for 0.0.0.0 and ::, which cannot be advertised to clients.
    package var isWildcard: Bool { self.host == "0.0.0.0" || self.host == "::" }

    package var description: String {
        self.isIPv6 ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}

/// How long the balancer waits for each thing before giving up.
package struct TimeoutConfiguration: Equatable, Sendable {
    /// Connecting to a server's control port.
    package var serverConnect: Duration = .seconds(5)
    /// A client connecting to the passive port it was given.
    package var passiveAccept: Duration = .seconds(30)
    /// A server connecting back for active mode, and the balancer connecting to the client.
    package var activeConnect: Duration = .seconds(30)
    /// A control connection with no command, reply or moving transfer.
    package var controlIdle: Duration = .seconds(600)
    /// A data connection on which no byte moves either way.
    package var dataIdle: Duration = .seconds(300)
    /// A server's greeting, from its TCP connect: a server that accepts and never greets is
    /// left for the next.
    package var serverGreeting: Duration = .seconds(10)
    /// A client logging in, from its connect to the server's 230.
    package var login: Duration = .seconds(60)
    /// A server's reply to a command that opens no data connection, while nothing else happens
    /// on the session: a server that greets and then hangs ends the session with a 421.
    package var serverReply: Duration = .seconds(60)

    package init() {}
}
