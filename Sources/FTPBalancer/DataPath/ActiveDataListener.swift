import FTPProtocol
import Logging
import NIOCore
import NIOPosix

/// An active-mode listener on the balancer's server-side address: accepts the one connection
/// from the session's server, connects to the client from the advertised address and port 20,
/// and relays.
final class ActiveDataListener: DataListener {
    private(set) var port: Int = 0
    private let request: ActiveDataRequest
    private weak var observer: (any DataFlowObserver)?
    private let logger: Logger
    private var channel: Channel?
    private var timeout: Scheduled<Void>?
    private var accepted = false

    init(request: ActiveDataRequest, observer: any DataFlowObserver, logger: Logger) {
        self.request = request
        self.observer = observer
        self.logger = logger
    }

    func listening(on channel: Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: self.request.connectTimeout) {
            self.logger.notice("the server did not open the active data connection in time")
            self.close()
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
        let peer = channel.remoteAddress?.ipAddress.map(ControlSessionStateMachine.canonical) ?? "?"
        guard !self.accepted, peer == self.request.serverHost, let observer = self.observer else {
            self.logger.warning(
                "refused a connection to an active-mode listener",
                metadata: ["ftp.peer": "\(peer)", "ftp.expected": "\(self.request.serverHost)"]
            )
            return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
        }
        self.accepted = true
        self.timeout?.cancel()
        let flow = DataFlow(mode: self.request.mode, idleTimeout: self.request.idleTimeout, observer: observer)
        do {
            try flow.addServerSide(to: channel)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        self.connectToClient(flow: flow, serverSide: channel)
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    private func connectToClient(flow: DataFlow, serverSide: Channel) {
        let boundFlow = NIOLoopBound(flow, eventLoop: serverSide.eventLoop)
        DataFlow.configure(ClientBootstrap(group: serverSide.eventLoop))
            // Several active connections share source port 20, towards different client ports.
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .connectTimeout(self.request.connectTimeout)
            .bind(to: self.request.clientSideSource)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try boundFlow.value.addClientSide(to: channel) }
            }
            .connect(to: self.request.client)
            .assumeIsolated()
            .whenComplete { result in
                self.close()
                switch result {
                case .success(let clientSide):
                    self.logger.debug(
                        "data connection relayed",
                        metadata: ["ftp.mode": "\(self.request.mode)", "ftp.client.data": "\(self.request.client.logDescription)"]
                    )
                    flow.start(clientSide: clientSide, serverSide: serverSide)
                case .failure(let error):
                    self.logger.warning(
                        "could not open the active data connection to the client",
                        metadata: [
                            "ftp.client.data": "\(self.request.client.logDescription)",
                            "ftp.source": "\(self.request.clientSideSource.logDescription)", "ftp.error": "\(error)",
                        ]
                    )
                    serverSide.close(promise: nil)
                }
            }
    }
}
