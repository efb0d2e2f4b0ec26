import FTPProtocol
import NIOCore

/// Data connections whose server gets another mode than the client asked for
/// (`data_transfer_policy`): the client's side looks exactly as it would without translation.
extension ControlSession {
    /// Client PASV/EPSV, server PORT/EPRT: open the client's passive listener and a listener for
    /// the server, then send the server PORT/EPRT; the client's 227/229 waits for its 200.
    func openTranslatedPassive(_ request: ControlSessionStateMachine.TranslatedPassiveRequest) {
        guard let serverChannel = self.serverChannel, let serverHost = serverChannel.remoteAddress?.ipAddress,
            let listenHost = serverChannel.localAddress?.ipAddress
        else {
            self.perform(self.machine.dataListenerFailed(.cannotStart))
            return
        }
        var dataRequest = TranslatedPassiveDataRequest(
            mode: request.kind == .pasv ? .pasv : .epsv,
            listenHost: self.advertisedAddress,
            ports: self.service.passivePorts,
            clientHost: self.clientHost,
            serverListenHost: listenHost,
            serverHost: IPAddress.canonical(serverHost),
            transparent: self.isTransparent,
            freebind: self.service.configuration.listenFreebind,
            acceptTimeout: self.timeouts.passiveAccept.timeAmount,
            connectTimeout: self.timeouts.activeConnect.timeAmount,
            idleTimeout: self.timeouts.dataIdle.timeAmount
        )
        let next = self.nextDataConnection
        dataRequest.protection = next.protection
        dataRequest.serverProtection = next.serverProtection
        next.path.openTranslatedPassive(
            dataRequest,
            on: self.clientChannel.eventLoop,
            observer: self,
            logger: self.logger
        )
        .assumeIsolated()
        .whenComplete { result in
            switch result {
            case .success(let listener):
                let ready = StateMachine.ReadyListener.translatedPassive(
                    clientPort: listener.port,
                    host: IPAddress.canonical(listenHost),
                    serverPort: listener.serverSidePort
                )
                self.perform(self.machine.dataListenerReady(ready), with: .listener(listener))
            case .failure(let error):
                self.logger.error(
                    "could not open the listeners of a translated data connection",
                    metadata: ["ftp.error": "\(OperatorText.describe(error))"]
                )
                self.perform(self.machine.dataListenerFailed(.failed))
            }
        }
    }

    /// Client PORT/EPRT, server PASV/EPSV: connect to the client and to the server's passive
    /// port, then answer the client's PORT/EPRT; the server's 227/229 never reaches it.
    func openTranslatedActive(
        _ request: ControlSessionStateMachine.ActiveRequest,
        serverPassive: ControlSessionStateMachine.PassiveRequest
    ) {
        let configuration = self.service.configuration
        guard let serverChannel = self.serverChannel, var target = serverChannel.remoteAddress, target.port != nil,
            var serverSideSource = serverChannel.localAddress, serverSideSource.port != nil,
            let client = try? SocketAddress(ipAddress: request.clientHost, port: request.clientPort),
            let source = try? SocketAddress(ipAddress: self.advertisedAddress, port: configuration.activeSourcePort)
        else {
            self.perform(self.machine.dataListenerFailed(.cannotStart))
            return
        }
        // As in passive mode, the server's control address: never the one it announced.
        target.port = serverPassive.serverPort
        serverSideSource.port = 0
        var dataRequest = TranslatedActiveDataRequest(
            mode: request.kind == .port ? .port : .eprt,
            client: client,
            clientSideSource: source,
            server: target,
            serverSideSource: serverSideSource,
            transparent: self.isTransparent,
            freebind: self.service.configuration.listenFreebind,
            connectTimeout: self.timeouts.activeConnect.timeAmount,
            idleTimeout: self.timeouts.dataIdle.timeAmount
        )
        let next = self.nextDataConnection
        dataRequest.protection = next.protection
        dataRequest.serverProtection = next.serverProtection
        next.path.openTranslatedActive(
            dataRequest,
            on: self.clientChannel.eventLoop,
            observer: self,
            logger: self.logger
        )
        .assumeIsolated()
        .whenComplete { result in
            switch result {
            case .success(let flow):
                self.perform(self.machine.dataListenerReady(.translatedActive), with: .listener(flow))
            case .failure(let error):
                let failure = self.activeFailure(error, otherwise: "could not connect to the server's passive port")
                self.perform(self.machine.dataListenerFailed(failure))
            }
        }
    }
}
