import FTPBalancerConfig
import FTPProtocol
import NIOCore
import NIOPosix

extension ControlSession {
    /// Tries the servers in the pool's order until one accepts; the client sees nothing of the
    /// ones that refused or timed out. With none left, the client gets a 421.
    func connect(to candidates: ArraySlice<ServerConfiguration>) {
        guard let server = candidates.first else {
            self.logger.error("no server of the pool accepted the connection")
            self.end(reply: "421 Service not available: no FTP server is reachable.", reason: .noServer)
            return
        }
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: server.address.host, port: server.address.port)
        } catch {
            self.logger.error("invalid server address", metadata: ["ftp.server": "\(server.name)"])
            self.connect(to: candidates.dropFirst())
            return
        }
        var bootstrap = ClientBootstrap(group: self.clientChannel.eventLoop)
            .connectTimeout(self.timeouts.serverConnect.timeAmount)
        if let source = self.service.configuration.sourceAddress, let local = try? SocketAddress(ipAddress: source, port: 0) {
            bootstrap = bootstrap.bind(to: local)
        }
        let session = NIOLoopBound(self, eventLoop: self.clientChannel.eventLoop)
        bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ControlConnectionHandler(session: session.value, side: .server)
                    try channel.pipeline.syncOperations.addHandlers([
                        // Replies may be longer than commands (a long path in a 257); an overlong
                        // one is cut, not buffered.
                        ByteToMessageHandler(ControlLineDecoder(maximumLineLength: 16384)),
                        handler,
                    ])
                    session.value.serverHandler = handler
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.serverConnected(channel, server: server)
                case .failure(let error):
                    self.logger.warning(
                        "server did not accept the connection; trying the next",
                        metadata: ["ftp.server": "\(server.name)", "ftp.error": "\(error)"]
                    )
                    self.connect(to: candidates.dropFirst())
                }
            }
    }

    private func serverConnected(_ channel: Channel, server: ServerConfiguration) {
        guard self.clientOpen else {
            channel.close(promise: nil)
            return
        }
        self.serverChannel = channel
        self.serverOpen = true
        self.summary.server = server.name
        self.logger[metadataKey: "ftp.server"] = "\(server.name)"
        let serverSideHost = channel.localAddress?.ipAddress ?? ""
        self.machine = ControlSessionStateMachine(
            addresses: .init(
                client: self.clientHost,
                advertised: self.service.configuration.advertisedAddress,
                hidden: [server.address.host, ControlSessionStateMachine.canonical(serverSideHost)]
            )
        )
        self.logger.debug("connected to server")
        self.drainQueues()
    }
}
