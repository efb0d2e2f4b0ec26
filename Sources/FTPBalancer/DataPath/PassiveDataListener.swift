import FTPProtocol
import Logging
import NIOCore
import NIOPosix

/// A passive-mode listener on the advertised address: accepts one connection from the session's
/// client, connects to the port the server announced, and relays.
final class PassiveDataListener: DataListener {
    let port: Int
    private let request: PassiveDataRequest
    private weak var observer: (any DataFlowObserver)?
    private let logger: Logger
    private var channel: Channel?
    private var timeout: Scheduled<Void>?
    private var admission: DataConnectionAdmission

    init(port: Int, request: PassiveDataRequest, observer: any DataFlowObserver, logger: Logger) {
        self.port = port
        self.request = request
        self.observer = observer
        self.logger = logger
        self.admission = DataConnectionAdmission(.passive(port: port), expectedPeer: request.clientHost)
    }

    /// The port goes back to the range when `channel` closes (`NIODataPath.bindPassivePort`).
    func listening(on channel: Channel) {
        self.channel = channel
        self.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: self.request.acceptTimeout) {
            self.logger.notice(
                "passive data connection not made in time; closing its port",
                metadata: ["ftp.port": "\(self.port)"]
            )
            self.close()
            self.observer?.dataListenerExpired(port: self.port)
        }
    }

    func close() {
        self.timeout?.cancel()
        self.timeout = nil
        self.channel?.close(promise: nil)
        self.channel = nil
    }

    /// The child-channel initializer: a failed future makes NIO close the connection.
    func accept(_ channel: Channel) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress.flatMap(IPAddress.canonical) ?? "?"
        guard self.admission.admits(peer: peer, logger: self.logger, misrouted: self.request.misrouted) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
        }
        guard let observer = self.observer else {
            return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        self.timeout?.cancel()
        let flow = NIODataRelay(
            mode: self.request.mode,
            idleTimeout: self.request.idleTimeout,
            observer: observer,
            protection: self.request.protection,
            serverProtection: self.request.serverProtection
        )
        do {
            try flow.addClientSide(to: channel)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        self.connectToServer(flow: flow, clientSide: channel)
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    private func connectToServer(flow: NIODataRelay, clientSide: Channel) {
        let boundFlow = NIOLoopBound(flow, eventLoop: clientSide.eventLoop)
        var bootstrap = NIODataRelay.configure(ClientBootstrap(group: clientSide.eventLoop))
        if self.request.transparent {
            bootstrap = TransparentSocket.outgoing(bootstrap, from: self.request.serverSideSource)
        }
        bootstrap
            .connectTimeout(self.request.connectTimeout)
            .bind(to: self.request.serverSideSource)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try boundFlow.value.addServerSide(to: channel) }
            }
            .connect(to: self.request.server)
            .assumeIsolated()
            .whenComplete { result in
                // Only now, with the accepted channel set up, may the listener close (closing it
                // from the child initializer would close the child too).
                self.close()
                switch result {
                case .success(let serverSide):
                    self.logger.debug(
                        "data connection relayed",
                        metadata: [
                            "ftp.mode": "\(self.request.mode)",
                            "ftp.server.data": "\(self.request.server.logDescription)",
                        ]
                    )
                    flow.start(clientSide: clientSide, serverSide: serverSide)
                case .failure(let error):
                    self.logger.warning(
                        "could not connect to the server's passive port",
                        metadata: ["ftp.server.data": "\(self.request.server.logDescription)", "ftp.error": "\(OperatorText.describe(error))"]
                    )
                    clientSide.close(promise: nil)
                }
            }
    }
}
