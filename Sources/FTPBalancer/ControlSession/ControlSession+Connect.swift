import FTPBalancerConfig
import FTPProtocol
import NIOCore
import NIOPosix

extension ControlSession {
    /// Asks the pool for a server this session has not tried yet and connects to it; the client
    /// sees nothing of servers that refused or timed out. With none left, the client gets a 421.
    func connectToNextServer(user: String?) {
        let key = PoolState.SelectionKey(clientHost: self.clientHost, user: user)
        switch self.service.pool.select(for: key, excluding: self.triedServers) {
        case .failure(let refusal):
            self.logger.error("no server can take the session", metadata: ["ftp.refusal": "\(refusal.reason.rawValue)"])
            self.service.statistics.refused(refusal.reason.rawValue)
            let reply =
                refusal.reason == .serversFull
                ? BalancerReply.serversFull : BalancerReply.unavailable(self.service.configuration.unavailableMessage)
            self.perform(self.machine.noServerAvailable(reply: reply))
        case .success(let lease):
            self.triedServers.insert(lease.memberID)
            self.connect(lease, user: user)
        }
    }

    private func connect(_ lease: ServerLease, user: String?) {
        let server = lease.server
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: server.address.host, port: server.address.port)
        } catch {
            self.logger.error("invalid server address", metadata: ["ftp.server": "\(server.name)"])
            self.service.pool.connectFailed(lease, reason: "invalid address")
            self.connectToNextServer(user: user)
            return
        }
        var local: SocketAddress?
        if self.isTransparent {
            // The server sees the client itself; its answers come back because this host is
            // its gateway and the transparent socket claims them.
            guard let client = try? SocketAddress(ipAddress: self.clientHost, port: 0), client.protocol == address.protocol else {
                self.logger.error(
                    "transparent mode cannot reach a server of another address family than the client's",
                    metadata: ["ftp.server": "\(server.name)"]
                )
                self.service.pool.release(lease)
                self.connectToNextServer(user: user)
                return
            }
            local = client
        } else if let source = self.service.configuration.sourceAddress {
            local = try? SocketAddress(ipAddress: source, port: 0)
        }
        let session = NIOLoopBound(self, eventLoop: self.clientChannel.eventLoop)
        let started = NIODeadline.now()
        let connection = ServerConnection(
            address: address,
            local: local,
            transparent: self.isTransparent,
            timeout: self.timeouts.serverConnect.timeAmount
        )
        self.serverConnector.connect(connection, on: self.clientChannel.eventLoop) { channel in
            // Replies may be longer than commands (a long path in a 257); an overlong one is
            // cut, not buffered.
            let handler = ControlConnectionHandler(session: session.value, side: .server, maximumLineLength: 16384)
            try channel.pipeline.syncOperations.addHandlers(try session.value.implicitServerTLSHandler() + [handler])
            session.value.serverHandler = handler
        }
        .assumeIsolated()
        .whenComplete { result in
            switch result {
            case .success(let channel):
                // The pool hears of it once the server has greeted (`.serverGreeted`).
                self.serverConnectLatency = .now() - started
                self.serverConnected(channel, lease: lease)
            case .failure(let error) where DescriptorReserve.isExhaustion(error):
                // The balancer's own shortage: no server is to blame, and the next would fail alike.
                self.service.pool.release(lease)
                self.logger.error("cannot connect to a server", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
                self.service.statistics.refused(SessionTable.Refusal.descriptorLimit.rawValue)
                self.perform(self.machine.noServerAvailable(reply: BalancerReply.descriptorLimit))
            case .failure(let error):
                let reason = OperatorText.describe(error, address: address)
                self.service.pool.connectFailed(lease, reason: reason)
                let actions = self.machine.serverConnectFailed()
                guard !actions.isEmpty else { return }
                self.logger.warning(
                    "server did not accept the connection; trying the next",
                    metadata: ["ftp.server": "\(server.name)", "ftp.error": "\(reason)"]
                )
                self.perform(actions)
            }
        }
    }

    private func serverConnected(_ channel: Channel, lease: ServerLease) {
        let server = lease.server
        // The balancer's own server-side address is hidden from the client; in transparent mode
        // that local address is the client's, which it may see.
        let serverSideHost = self.isTransparent ? "" : channel.localAddress.flatMap(IPAddress.canonical) ?? ""
        let rules = ControlSessionStateMachine(
            addresses: .init(
                client: self.clientHost,
                advertised: self.advertisedAddress,
                hidden: [server.address.host, serverSideHost]
            ),
            policy: self.service.configuration.dataTransferPolicy,
            serverIsIPv6: server.address.isIPv6,
            features: self.machine.security?.features ?? []
        )
        let actions = self.machine.serverConnected(rules: rules, securing: self.serverSecuring)
        if actions.first != .abandonServer {
            self.useServer(channel, lease: lease)
        }
        self.perform(actions, with: .server(channel, lease))
    }

    /// The connection is the session's: the PROXY header goes first, before any command.
    private func useServer(_ channel: Channel, lease: ServerLease) {
        self.lease = lease
        self.serverChannel = channel
        self.sendProxyHeader(on: channel)
        self.summary.server = lease.server.name
        self.summary.serverAddress = lease.server.address.description
        self.logger[metadataKey: "ftp.server"] = "\(lease.server.name)"
        self.logger.debug("connected to server")
    }

    /// The advertised address of the listener `channel` came in on: a dual-stack service has one
    /// per family.
    static func advertisedAddress(of channel: Channel, in service: VirtualService) -> String {
        let local = channel.localAddress
        return service.configuration.advertisedAddress(
            forLocalHost: local.flatMap(IPAddress.canonical) ?? "",
            port: local?.port ?? service.configuration.listen.port
        )
    }

    /// `client_address: transparent`: upstream connections leave from the client's address.
    var isTransparent: Bool { self.service.configuration.clientAddress == .transparent }

    /// `client_address: proxy_protocol_v1|v2`: the header goes first on the control connection
    /// and on nothing else.
    private func sendProxyHeader(on channel: Channel) {
        guard let version = self.service.configuration.clientAddress.proxyHeaderVersion,
            let client = self.clientChannel.remoteAddress, let destination = self.clientChannel.localAddress
        else { return }
        var header = channel.allocator.buffer(capacity: 108)
        ProxyProtocolHeader.write(version, client: client, destination: destination, into: &header)
        // Flushed now: a receiver waits for the header before the server greets.
        channel.writeAndFlush(header, promise: nil)
    }
}
