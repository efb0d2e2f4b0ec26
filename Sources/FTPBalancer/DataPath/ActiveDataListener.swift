import FTPProtocol
import Logging
import NIOCore
import NIOPosix

/// Active mode: connects to the client from the advertised address and port 20, listens on the
/// balancer's server-side address for the one connection from the session's server, and relays.
///
/// The client is connected first, when PORT/EPRT arrives, rather than when the server connects:
/// a client that cannot be reached then gets an error reply to PORT, whereas a failure found
/// only after the server's connection would reach the server as a normal end of transfer and
/// the client would be told 226 for a file it never received.
final class ActiveDataListener: DataListener {
    private(set) var port: Int = 0
    private let request: ActiveDataRequest
    private let logger: Logger
    private let flow: NIODataRelay
    private var listener: Channel?
    private var clientSide: Channel?
    private var timeout: Scheduled<Void>?
    private var admission: DataConnectionAdmission

    init(request: ActiveDataRequest, observer: any DataFlowObserver, logger: Logger) {
        self.request = request
        self.logger = logger
        self.admission = DataConnectionAdmission(.active, expectedPeer: request.serverHost)
        self.flow = NIODataRelay(
            mode: request.mode,
            idleTimeout: request.idleTimeout,
            observer: observer,
            protection: request.protection,
            serverProtection: request.serverProtection
        )
    }

    /// Connects to the address the client named, from the advertised address and source port.
    func connectToClient(on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        let boundFlow = NIOLoopBound(self.flow, eventLoop: eventLoop)
        var bootstrap = NIODataRelay.configure(ClientBootstrap(group: eventLoop))
            // Several active connections share source port 20, towards different client ports.
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
        if self.request.freebind {
            bootstrap = bootstrap.channelOption(FreebindSocket.option(for: self.request.clientSideSource), value: 1)
        }
        return
            bootstrap
            .connectTimeout(self.request.connectTimeout)
            .bind(to: self.request.clientSideSource)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try boundFlow.value.addClientSide(to: channel) }
            }
            .connect(to: self.request.client)
            .assumeIsolated()
            .map { channel in
                self.clientSide = channel
            }
            .nonisolated()
    }

    func listening(on channel: Channel) {
        self.listener = channel
        self.port = channel.localAddress?.port ?? 0
        self.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: self.request.connectTimeout) {
            self.logger.notice("the server did not open the active data connection in time")
            self.close()
        }
    }

    /// Closes the listener and, if the server never connected, the connection to the client.
    func close() {
        self.closeListener()
        if !self.admission.admitted {
            self.clientSide?.close(promise: nil)
            self.clientSide = nil
        }
    }

    private func closeListener() {
        self.timeout?.cancel()
        self.timeout = nil
        self.listener?.close(promise: nil)
        self.listener = nil
    }

    /// The child-channel initializer: a failed future makes NIO close the connection.
    func accept(_ channel: Channel) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress.flatMap(IPAddress.canonical) ?? "?"
        guard self.admission.admits(peer: peer, open: self.clientSide != nil, logger: self.logger),
            let clientSide = self.clientSide
        else {
            return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
        }
        do {
            try self.flow.addServerSide(to: channel)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        self.flow.start(clientSide: clientSide, serverSide: channel)
        self.logger.debug(
            "data connection relayed",
            metadata: ["ftp.mode": "\(self.request.mode)", "ftp.client.data": "\(self.request.client.logDescription)"]
        )
        // Not from within the initializer: closing the listener now would close this child too.
        channel.eventLoop.assumeIsolated().execute {
            self.closeListener()
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}
