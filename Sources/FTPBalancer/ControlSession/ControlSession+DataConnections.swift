import FTPProtocol
import NIOCore

extension ControlSession: DataFlowObserver {
    /// The server answered PASV/EPSV: open a listener on the advertised address and give the
    /// client its port, never the server's address.
    func openPassive(_ request: ControlSessionStateMachine.PassiveRequest) {
        // The control connection's own addresses with other ports: no round trip through text.
        guard let serverChannel = self.serverChannel, let serverAddress = serverChannel.remoteAddress,
            serverAddress.port != nil, var serverSideSource = serverChannel.localAddress, serverSideSource.port != nil
        else {
            self.perform(self.machine.dataListenerFailed(.cannotStart))
            return
        }
        serverSideSource.port = 0
        var target = serverAddress
        target.port = request.serverPort
        if let announced = request.announcedHost,
            IPAddress.canonical(announced) != IPAddress.canonical(serverAddress)
        {
            // Servers behind NAT or bound to a wildcard often announce a useless address.
            self.logger.notice(
                "server announced another address for passive mode; using its control address",
                metadata: ["ftp.announced": "\(announced)", "ftp.server.data": "\(target.logDescription)"]
            )
        }
        // A client that asks again has given up on the previous port.
        self.passiveListener?.close()
        self.passiveListener = nil
        let mode: DataConnectionMode = request.kind == .pasv ? .pasv : .epsv
        var dataRequest = PassiveDataRequest(
            mode: mode,
            listenHost: self.advertisedAddress,
            ports: self.service.passivePorts,
            clientHost: self.clientHost,
            server: target,
            serverSideSource: serverSideSource,
            transparent: self.isTransparent,
            acceptTimeout: self.timeouts.passiveAccept.timeAmount,
            connectTimeout: self.timeouts.serverConnect.timeAmount,
            idleTimeout: self.timeouts.dataIdle.timeAmount,
            freebind: self.service.configuration.listenFreebind,
            misrouted: self.service.statistics.misrouted
        )
        let next = self.nextDataConnection
        dataRequest.protection = next.protection
        dataRequest.serverProtection = next.serverProtection
        next.path.openPassive(dataRequest, on: self.clientChannel.eventLoop, observer: self, logger: self.logger)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let listener):
                    self.logger.debug("passive port open", metadata: ["ftp.mode": "\(mode)", "ftp.port": "\(listener.port)"])
                    self.perform(self.machine.dataListenerReady(.passive(port: listener.port)), with: .listener(listener))
                case .failure(let error):
                    self.logger.error("could not open a passive port", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
                    self.perform(self.machine.dataListenerFailed(.failed))
                }
            }
    }

    /// The client asked for active mode: listen where the server can reach the balancer, and
    /// send the server PORT/EPRT for that listener. In transparent mode the session's
    /// server-side address is the client's, so the PORT the server gets is the client's own.
    func openActive(_ request: ControlSessionStateMachine.ActiveRequest) {
        let configuration = self.service.configuration
        guard let serverChannel = self.serverChannel, let serverHost = serverChannel.remoteAddress?.ipAddress,
            let listenHost = serverChannel.localAddress?.ipAddress,
            let client = try? SocketAddress(ipAddress: request.clientHost, port: request.clientPort),
            let source = try? SocketAddress(ipAddress: self.advertisedAddress, port: configuration.activeSourcePort)
        else {
            self.perform(self.machine.dataListenerFailed(.cannotStart))
            return
        }
        self.activeListener?.close()
        self.activeListener = nil
        let mode: DataConnectionMode = request.kind == .port ? .port : .eprt
        var dataRequest = ActiveDataRequest(
            mode: mode,
            listenHost: listenHost,
            // Transparent: the server connects to the address and port the client named.
            listenPort: self.isTransparent ? request.clientPort : 0,
            transparent: self.isTransparent,
            serverHost: IPAddress.canonical(serverHost),
            client: client,
            clientSideSource: source,
            connectTimeout: self.timeouts.activeConnect.timeAmount,
            idleTimeout: self.timeouts.dataIdle.timeAmount,
            freebind: configuration.listenFreebind
        )
        let next = self.nextDataConnection
        dataRequest.protection = next.protection
        dataRequest.serverProtection = next.serverProtection
        next.path.openActive(dataRequest, on: self.clientChannel.eventLoop, observer: self, logger: self.logger)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let listener):
                    let ready = StateMachine.ReadyListener.active(
                        host: IPAddress.canonical(listenHost),
                        port: listener.port
                    )
                    self.perform(self.machine.dataListenerReady(ready), with: .listener(listener))
                case .failure(let error):
                    self.perform(self.machine.dataListenerFailed(self.activeFailure(error)))
                }
            }
    }

    /// Logs why an active-mode data connection could not be prepared, in operator words.
    func activeFailure(
        _ error: any Error,
        otherwise message: String = "could not open an active-mode listener"
    ) -> StateMachine.DataListenerFailure {
        if let error = error as? DataPathError, error.code == .clientUnreachable {
            self.logger.notice("could not connect to the client for active mode", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
            return .clientUnreachable
        }
        self.logger.error("\(message)", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
        return .failed
    }

    func dataListenerExpired(port: Int) {
        self.machine.dataListenerExpired(port: port)
    }

    func dataFlowStarted(_ flow: DataFlow) {
        self.liveDataFlows.append(flow)
        self.summary.dataConnections[flow.mode, default: 0] += 1
        self.service.statistics.dataConnectionStarted(flow.mode)
        self.machine.dataFlowStarted(now: .now())
    }

    func dataFlowEnded(_ flow: DataFlow, report: DataFlowReport) {
        self.liveDataFlows.removeAll { $0 === flow }
        self.summary.bytesToClient += report.bytesToClient
        self.summary.bytesToServer += report.bytesToServer
        self.service.statistics.dataConnectionEnded(report)
        if let lease = self.lease { lease.pool.dataConnectionEnded(lease, report) }
        self.logger.debug(
            "data connection closed",
            metadata: [
                "ftp.mode": "\(report.mode)", "ftp.bytes.to_client": "\(report.bytesToClient)",
                "ftp.bytes.to_server": "\(report.bytesToServer)",
                "ftp.duration.ms": "\(report.duration.nanoseconds / 1_000_000)",
            ]
        )
        self.noteDataFlowEnded(report)
        self.perform(self.machine.dataFlowEnded(now: .now()))
    }
}
