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
            self.sendClient(BalancerReply.cannotOpenDataConnection)
            return
        }
        // A client that asks again has given up on the previous data connection.
        self.closeListeners()
        let dataRequest = TranslatedPassiveDataRequest(
            mode: request.kind == .pasv ? .pasv : .epsv,
            listenHost: self.advertisedAddress,
            ports: self.service.passivePorts,
            clientHost: self.clientHost,
            serverListenHost: listenHost,
            serverHost: ControlSessionStateMachine.canonical(serverHost),
            transparent: self.isTransparent,
            freebind: self.service.configuration.listenFreebind,
            acceptTimeout: self.timeouts.passiveAccept.timeAmount,
            connectTimeout: self.timeouts.activeConnect.timeAmount,
            idleTimeout: self.timeouts.dataIdle.timeAmount
        )
        self.awaitingDataPath = true
        self.dataPath.openTranslatedPassive(
            dataRequest,
            on: self.clientChannel.eventLoop,
            observer: self,
            logger: self.logger
        )
        .assumeIsolated()
        .whenComplete { result in
            self.awaitingDataPath = false
            switch result {
            case .success(let listener):
                guard self.clientOpen, self.serverOpen,
                    let command = self.machine?.activeListenerReady(
                        kind: request.serverVerb,
                        host: ControlSessionStateMachine.canonical(listenHost),
                        port: listener.serverSidePort,
                        answering: request.kind
                    )
                else {
                    listener.close()
                    break
                }
                self.passiveListener = listener
                self.trace(.balancerToServer, command.loggableDescription)
                self.sendServer(command)
            case .failure(let error):
                self.logger.error(
                    "could not open the listeners of a translated data connection",
                    metadata: ["ftp.error": "\(OperatorText.describe(error))"]
                )
                self.sendClient(BalancerReply.noPassivePort)
            }
            self.drainQueues()
        }
    }

    /// The server took the PORT/EPRT: the client gets its 227/229 for the listener already open.
    func answerTranslatedPassive(_ kind: ControlSessionStateMachine.PassiveKind) {
        guard let listener = self.passiveListener,
            let reply = self.machine?.passiveReply(kind: kind, port: listener.port)
        else {
            self.sendClient(BalancerReply.cannotOpenDataConnection)
            return
        }
        self.trace(.balancerToClient, reply)
        self.sendClient(reply)
        self.service.statistics.record { $0.rewrittenReplies += 1 }
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
            self.sendClient(BalancerReply.cannotOpenDataConnection)
            return
        }
        // As in passive mode, the server's control address: never the one it announced.
        target.port = serverPassive.serverPort
        serverSideSource.port = 0
        self.closeListeners()
        let dataRequest = TranslatedActiveDataRequest(
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
        self.awaitingDataPath = true
        self.dataPath.openTranslatedActive(
            dataRequest,
            on: self.clientChannel.eventLoop,
            observer: self,
            logger: self.logger
        )
        .assumeIsolated()
        .whenComplete { result in
            self.awaitingDataPath = false
            switch result {
            case .success(let flow):
                guard self.clientOpen, let reply = self.machine?.activeReply(kind: request.kind) else {
                    flow.close()
                    break
                }
                self.activeListener = flow
                self.trace(.balancerToClient, reply)
                self.sendClient(reply)
            case .failure(let error as DataPathError) where error.code == .clientUnreachable:
                self.logger.notice(
                    "could not connect to the client for active mode",
                    metadata: ["ftp.error": "\(OperatorText.describe(error))"]
                )
                self.sendClient(BalancerReply.clientUnreachable)
            case .failure(let error):
                self.logger.error("could not connect to the server's passive port", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
                self.sendClient(BalancerReply.cannotOpenDataConnection)
            }
            self.drainQueues()
        }
    }
}
