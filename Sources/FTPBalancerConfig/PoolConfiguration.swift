/// How a virtual service picks the server for a new control session.
package enum BalancingAlgorithm: String, Equatable, Sendable, CaseIterable {
    /// Each session one server further on.
    case roundRobin = "round_robin"
    /// Smooth weighted round robin: weights 1:2:3 interleave rather than come in bursts.
    case weightedRoundRobin = "weighted_round_robin"
    /// The server with the fewest running sessions per unit of weight.
    case leastConnections = "least_connections"
    /// A consistent (rendezvous) hash of the client's IP address: a client keeps its server,
    /// and adding or removing one of N servers moves only about 1/N of the clients.
    case sourceIPHash = "source_ip_hash"
    /// The server with the lowest recent connect latency times its running sessions, per weight.
    case leastResponseTime = "least_response_time"
    /// The balancer greets the client itself, waits for USER, then picks the server by the
    /// user-to-server map or a consistent hash of the user name.
    case perUser = "per_user"
}

/// Whether a server takes new sessions. Running sessions continue in every state.
package enum ServerAdminState: String, Equatable, Sendable, CaseIterable {
    /// Takes new sessions while its health checks pass.
    case enabled
    /// No new sessions; running sessions continue; still health-checked.
    case draining
    /// No new sessions and no health checks; running sessions continue.
    case disabled
}

/// What `algorithm: per_user` needs besides the pool.
package struct UserRoutingConfiguration: Equatable, Sendable {
    /// The text of the 220 reply the balancer greets clients with before it knows the user.
    package var greeting: String = "FTP service ready."
    /// User name to server name; users not listed are placed by a consistent hash of the name.
    package var users: [String: String] = [:]

    package init(greeting: String = "FTP service ready.", users: [String: String] = [:]) {
        self.greeting = greeting
        self.users = users
    }
}

/// The kind of health check a pool runs against each of its servers.
package enum HealthCheckKind: String, Equatable, Sendable, CaseIterable {
    /// No checks: every server counts as up.
    case none
    /// A TCP connect to the control port.
    case tcp
    /// Expects a 220 greeting, then sends QUIT.
    case ftp
    /// Logs in with USER/PASS.
    case ftpLogin = "ftp_login"
    /// Logs in and downloads a file in passive or active mode, optionally checking its size.
    case ftpTransfer = "ftp_transfer"
}

/// The data connection mode of an `ftp_transfer` health check.
package enum HealthCheckTransferMode: String, Equatable, Sendable, CaseIterable {
    case passive, active
}

/// Health checks of one pool: what is checked, how often, and how many results in a row turn
/// a server up (rise) or down (fall).
package struct HealthCheckConfiguration: Equatable, Sendable {
    package var kind: HealthCheckKind = .ftp
    package var interval: Duration = .seconds(5)
    /// A check that has not finished within this time has failed.
    package var timeout: Duration = .seconds(3)
    /// Consecutive passed checks that bring a down server up.
    package var rise: Int = 2
    /// Consecutive failed checks, or failed connects of real sessions, that take a server down.
    package var fall: Int = 3
    /// Credentials of `ftp_login` and `ftp_transfer`.
    package var user: String?
    package var password: String?
    /// The file an `ftp_transfer` check downloads.
    package var file: String?
    package var transferMode: HealthCheckTransferMode = .passive
    /// The size in bytes the downloaded file must have; nil accepts any size.
    package var expectedSize: Int?

    package init() {}
}

/// Limits on concurrent control sessions of one virtual service; nil is unlimited.
package struct SessionLimitConfiguration: Equatable, Sendable {
    package var maxSessions: Int?
    package var maxSessionsPerClient: Int?
    /// Sessions of one client address that have not logged in yet: each holds a server
    /// connection, so a flood of idle connections must not take them all.
    package var maxUnauthenticatedPerClient: Int?

    package init(maxSessions: Int? = nil, maxSessionsPerClient: Int? = nil, maxUnauthenticatedPerClient: Int? = nil) {
        self.maxSessions = maxSessions
        self.maxSessionsPerClient = maxSessionsPerClient
        self.maxUnauthenticatedPerClient = maxUnauthenticatedPerClient
    }
}

/// How the servers of a pool learn the real client's address.
package enum ClientAddressMode: String, Equatable, Sendable, CaseIterable {
    /// They don't: they see the balancer's server-side address.
    case none
    /// A PROXY protocol version 1 header (text) opens each upstream control connection.
    case proxyProtocolV1 = "proxy_protocol_v1"
    /// A PROXY protocol version 2 header (binary) opens each upstream control connection.
    case proxyProtocolV2 = "proxy_protocol_v2"
    /// Upstream control and data connections leave from the client's own address
    /// (IP_TRANSPARENT); the servers route their replies back through the balancer.
    case transparent
}
