import Logging
import NIOCore
import NIOPosix

/// A translated active data connection (client PORT/EPRT, server PASV/EPSV): the balancer
/// connects to the client first, as for PORT (see `ActiveDataListener`), then to the server's
/// passive port, and relays.
final class TranslatedActiveFlow: DataListener {
    let port = 0
    private let request: TranslatedActiveDataRequest
    private let logger: Logger
    private let relay: NIODataRelay
    private var clientSide: Channel?
    private var serverSide: Channel?
    private var started = false

    init(request: TranslatedActiveDataRequest, observer: any DataFlowObserver, logger: Logger) {
        self.request = request
        self.logger = logger
        self.relay = NIODataRelay(
            mode: request.mode,
            idleTimeout: request.idleTimeout,
            observer: observer,
            protection: request.protection,
            serverProtection: request.serverProtection
        )
    }

    func connect(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let relay = NIOLoopBound(self.relay, eventLoop: eventLoop)
        let request = self.request
        return NIODataRelay.configure(ClientBootstrap(group: eventLoop))
            // Several active connections share source port 20, towards different client ports.
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .connectTimeout(request.connectTimeout)
            .bind(to: request.clientSideSource)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try relay.value.addClientSide(to: channel) }
            }
            .connect(to: request.client)
            .flatMapErrorThrowing { error in
                throw DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: request.client))
            }
            .assumeIsolated()
            .flatMap { clientSide -> EventLoopFuture<Channel> in
                self.clientSide = clientSide
                var bootstrap = NIODataRelay.configure(ClientBootstrap(group: eventLoop))
                if request.transparent {
                    bootstrap = TransparentSocket.outgoing(bootstrap, from: request.serverSideSource)
                }
                return
                    bootstrap
                    .connectTimeout(request.connectTimeout)
                    .bind(to: request.serverSideSource)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture { try relay.value.addServerSide(to: channel) }
                    }
                    .connect(to: request.server)
                    .flatMapErrorThrowing { error in
                        clientSide.close(promise: nil)
                        throw DataPathError(
                            code: .bindFailed,
                            detail: "the server's passive port \(request.server.logDescription): \(OperatorText.describe(error))"
                        )
                    }
            }
            .map { serverSide in
                self.serverSide = serverSide
                if let clientSide = self.clientSide {
                    self.started = true
                    self.logger.debug("translated data connection relayed", metadata: ["ftp.mode": "\(request.mode)"])
                    self.relay.start(clientSide: clientSide, serverSide: serverSide)
                }
            }
            .nonisolated()
    }

    /// Before both sides are connected; a running relay ends on its own.
    func close() {
        guard !self.started else { return }
        self.clientSide?.close(promise: nil)
        self.serverSide?.close(promise: nil)
    }
}
