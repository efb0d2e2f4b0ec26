import NIOCore

/// One control session as the admin API shows it, taken on the session's event loop.
package struct SessionSnapshot: Sendable {
    package var id: Int
    package var service: String
    /// The client's address and port.
    package var client: String
    /// The server's name and control address, once connected.
    package var server: String?
    package var serverAddress: String?
    /// The balancer's ends of the two control connections: the listener's address (the VIP)
    /// and port towards the client, and the source address and port towards the server (the
    /// client's own address in transparent mode). What a packet capture of the session needs.
    package var clientSideLocal: String? = nil
    package var serverSideLocal: String? = nil
    package var user: String?
    package var state: State
    /// The last command with a password masked, cut to `lastCommandLimit` characters.
    package var lastCommand: String?
    package var age: TimeAmount
    /// Data bytes, of ended and live data connections.
    package var bytesToClient: Int
    package var bytesToServer: Int
    package var dataFlows: [DataFlowSnapshot]
    /// The client control connection's TLS, once its handshake has ended.
    package var tls: TLSNegotiation? = nil
    /// `server_tls`: the server control connection's TLS, once its handshake has ended.
    package var serverTLS: TLSNegotiation? = nil

    package static let lastCommandLimit = 80

    package enum State: String, Sendable {
        /// `per_user`: greeted by the balancer, waiting for USER.
        case awaitingUser = "awaiting_user"
        /// Choosing or connecting to a server.
        case connecting
        /// Connected; no data connection under way.
        case idle
        /// A data listener is open, waiting for its connection.
        case dataPending = "data_pending"
        /// At least one data connection is moving bytes.
        case transferring
        /// Shutting down, ending once its transfer is done.
        case shuttingDown = "shutting_down"
        /// One side has closed; data connections may still be finishing.
        case closing
    }
}

/// One live data connection: both of its connections, and what has moved so far.
package struct DataFlowSnapshot: Sendable {
    package var session: Int
    package var service: String
    package var mode: DataConnectionMode
    /// Client side: the client's address and the balancer's.
    package var client: String
    package var clientSideLocal: String
    /// Server side: the balancer's address and the server's.
    package var serverSideLocal: String
    package var server: String
    package var bytesToClient: Int
    package var bytesToServer: Int
    package var age: TimeAmount
    /// `PROT P`: the client side's TLS (whether it resumed the session's); nil in clear.
    package var clientTLS: TLSNegotiation? = nil

    /// Which way bytes go, from the counts: an FTP data connection carries one file or listing
    /// one way, so the larger count tells.
    package var direction: String {
        if self.bytesToClient == 0 && self.bytesToServer == 0 { return "none" }
        return self.bytesToClient >= self.bytesToServer ? "to_client" : "to_server"
    }

    /// The average rate since the connection started, in bytes per second: no sampling timer
    /// is needed, and a stalled transfer shows as a falling rate.
    package var bytesPerSecond: Int {
        let seconds = Double(self.age.nanoseconds) / 1e9
        guard seconds > 0 else { return 0 }
        return Int(Double(self.bytesToClient + self.bytesToServer) / seconds)
    }
}
