import FTPBalancer

/// `GET /api/v1/sessions`.
package struct SessionsAnswer: Codable, Equatable, Sendable {
    package var sessions: [SessionView]
}

/// A live control session.
package struct SessionView: Codable, Equatable, Sendable {
    package var id: Int
    package var service: String
    package var client: String
    /// The server's name and control address; `null` until one is chosen.
    @Nullable package var server: String?
    @Nullable package var serverAddress: String?
    package var clientSide: ClientSideView
    /// `null` until the balancer has connected to a server.
    @Nullable package var serverSide: ServerSideView?
    /// `null` before USER.
    @Nullable package var user: String?
    package var state: String
    /// A password masked; `null` before the first command.
    @Nullable package var lastCommand: String?
    package var ageSeconds: Double
    /// Of its data connections, ended and live.
    package var bytesToClient: Int
    package var bytesToServer: Int
    /// How many are live.
    package var dataConnections: Int
    /// The client control connection's TLS; `null` in clear or before its handshake ends.
    @Nullable package var tls: TLSView?
    /// `server_tls`: the server control connection's TLS; `null` in clear or before it ends.
    @Nullable package var serverTLS: TLSView? = nil

    enum CodingKeys: String, CodingKey {
        case id, service, client, server, user, state, tls
        case serverTLS = "server_tls"
        case serverAddress = "server_address"
        case clientSide = "client_side"
        case serverSide = "server_side"
        case lastCommand = "last_command"
        case ageSeconds = "age_seconds"
        case bytesToClient = "bytes_to_client"
        case bytesToServer = "bytes_to_server"
        case dataConnections = "data_connections"
    }
}

/// What a TLS handshake agreed on.
package struct TLSView: Codable, Equatable, Sendable {
    package var version: String
    package var cipher: String
    /// Whether it resumed an earlier TLS session (for a data connection: one of its FTP
    /// session's).
    package var resumed: Bool

    init(_ negotiation: TLSNegotiation) {
        self.init(version: negotiation.version, cipher: negotiation.cipher, resumed: negotiation.resumed)
    }

    package init(version: String, cipher: String, resumed: Bool) {
        self.version = version
        self.cipher = cipher
        self.resumed = resumed
    }
}

/// A connection between the client and the balancer: what a packet capture of it needs.
package struct ClientSideView: Codable, Equatable, Sendable {
    package var client: String
    /// The listener's address and port (the VIP); `null` if the session could not read it.
    @Nullable package var balancer: String?
}

/// A connection between the balancer and a server.
package struct ServerSideView: Codable, Equatable, Sendable {
    /// The source address and port (the client's own in transparent mode).
    package var balancer: String
    @Nullable package var server: String?
}

/// `GET /api/v1/flows`.
package struct FlowsAnswer: Codable, Equatable, Sendable {
    package var flows: [FlowView]
}

/// A live data connection: both of its connections, and what has moved so far.
package struct FlowView: Codable, Equatable, Sendable {
    package var session: Int
    package var service: String
    package var mode: String
    package var clientSide: ClientSideView
    package var serverSide: ServerSideView
    /// `to_client`, `to_server` or `none` yet.
    package var direction: String
    package var bytesToClient: Int
    package var bytesToServer: Int
    /// The average since the data connection started.
    package var bytesPerSecond: Int
    package var ageSeconds: Double
    /// `PROT P`: the client side's TLS; `null` for a data connection in clear.
    @Nullable package var clientTLS: TLSView?

    enum CodingKeys: String, CodingKey {
        case session, service, mode, direction
        case clientTLS = "client_tls"
        case clientSide = "client_side"
        case serverSide = "server_side"
        case bytesToClient = "bytes_to_client"
        case bytesToServer = "bytes_to_server"
        case bytesPerSecond = "bytes_per_second"
        case ageSeconds = "age_seconds"
    }
}

extension SessionView {
    init(_ session: SessionSnapshot) {
        self.init(
            id: session.id,
            service: session.service,
            client: session.client,
            server: session.server,
            serverAddress: session.serverAddress,
            clientSide: ClientSideView(client: session.client, balancer: session.clientSideLocal),
            serverSide: session.serverSideLocal.map { ServerSideView(balancer: $0, server: session.serverAddress) },
            user: session.user,
            state: session.state.rawValue,
            lastCommand: session.lastCommand,
            ageSeconds: session.age.seconds,
            bytesToClient: session.bytesToClient,
            bytesToServer: session.bytesToServer,
            dataConnections: session.dataFlows.count,
            tls: session.tls.map(TLSView.init),
            serverTLS: session.serverTLS.map(TLSView.init)
        )
    }
}

extension FlowView {
    init(_ flow: DataFlowSnapshot) {
        self.init(
            session: flow.session,
            service: flow.service,
            mode: flow.mode.rawValue,
            clientSide: ClientSideView(client: flow.client, balancer: flow.clientSideLocal),
            serverSide: ServerSideView(balancer: flow.serverSideLocal, server: flow.server),
            direction: flow.direction,
            bytesToClient: flow.bytesToClient,
            bytesToServer: flow.bytesToServer,
            bytesPerSecond: flow.bytesPerSecond,
            ageSeconds: flow.age.seconds,
            clientTLS: flow.clientTLS.map(TLSView.init)
        )
    }
}
