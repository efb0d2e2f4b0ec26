import FTPProtocol
import Logging
import NIOCore

/// A translated passive data connection (client PASV/EPSV, server PORT/EPRT): one listener for
/// the session's client, one for its server, each taking one connection from its own peer only;
/// the relay starts once both are in, whichever came first.
final class TranslatedPassiveListener: TranslatedDataListener {
    let port: Int
    private(set) var serverSidePort = 0
    private let request: TranslatedPassiveDataRequest
    private let logger: Logger
    private let relay: NIODataRelay
    private var clientListener: Channel?
    private var serverListener: Channel?
    private var clientSide: Channel?
    private var serverSide: Channel?
    private var timeout: Scheduled<Void>?
    private var started = false
    private var clientAdmission: DataConnectionAdmission
    private var serverAdmission: DataConnectionAdmission

    init(port: Int, request: TranslatedPassiveDataRequest, observer: any DataFlowObserver, logger: Logger) {
        self.port = port
        self.request = request
        self.logger = logger
        self.clientAdmission = DataConnectionAdmission(.translatedPassive(port: port), expectedPeer: request.clientHost)
        self.serverAdmission = DataConnectionAdmission(.active, expectedPeer: request.serverHost)
        self.relay = NIODataRelay(
            mode: request.mode,
            idleTimeout: request.idleTimeout,
            observer: observer,
            protection: request.protection,
            serverProtection: request.serverProtection
        )
    }

    func clientListening(on channel: Channel) {
        self.clientListener = channel
        // Both connections within the passive accept timeout, which is the longer wait.
        self.timeout = channel.eventLoop.assumeIsolated().scheduleTask(in: self.request.acceptTimeout) {
            self.logger.notice(
                "translated data connection not made in time; closing its ports",
                metadata: ["ftp.port": "\(self.port)", "ftp.client.connected": "\(self.clientSide != nil)"]
            )
            self.close()
            self.relay.flow.listenerExpired(port: self.port)
        }
    }

    func serverListening(on channel: Channel) {
        self.serverListener = channel
        self.serverSidePort = channel.localAddress?.port ?? 0
    }

    /// Closes the listeners and, unless the relay runs, any connection already accepted.
    func close() {
        self.timeout?.cancel()
        self.timeout = nil
        self.clientListener?.close(promise: nil)
        self.clientListener = nil
        self.serverListener?.close(promise: nil)
        self.serverListener = nil
        guard !self.started else { return }
        self.clientSide?.close(promise: nil)
        self.clientSide = nil
        self.serverSide?.close(promise: nil)
        self.serverSide = nil
    }

    /// Child-channel initializers: a failed future makes NIO close the connection.
    func acceptClient(_ channel: Channel) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress.flatMap(IPAddress.canonical) ?? "?"
        guard self.clientAdmission.admits(peer: peer, logger: self.logger) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
        }
        do {
            try self.relay.addClientSide(to: channel)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        self.clientSide = channel
        self.afterAccept(on: channel.eventLoop)
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    func acceptServer(_ channel: Channel) -> EventLoopFuture<Void> {
        let peer = channel.remoteAddress.flatMap(IPAddress.canonical) ?? "?"
        guard self.serverAdmission.admits(peer: peer, logger: self.logger) else {
            return channel.eventLoop.makeFailedFuture(ChannelError.inappropriateOperationForState)
        }
        do {
            try self.relay.addServerSide(to: channel)
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        self.serverSide = channel
        self.afterAccept(on: channel.eventLoop)
        return channel.eventLoop.makeSucceededVoidFuture()
    }

    /// Not from within the initializer: closing a listener now would close its child too.
    private func afterAccept(on eventLoop: any EventLoop) {
        eventLoop.assumeIsolated().execute {
            if self.clientSide != nil {
                self.clientListener?.close(promise: nil)
                self.clientListener = nil
            }
            if self.serverSide != nil {
                self.serverListener?.close(promise: nil)
                self.serverListener = nil
            }
            guard !self.started, let clientSide = self.clientSide, let serverSide = self.serverSide else { return }
            self.started = true
            self.timeout?.cancel()
            self.timeout = nil
            self.logger.debug("translated data connection relayed", metadata: ["ftp.mode": "\(self.request.mode)"])
            self.relay.start(clientSide: clientSide, serverSide: serverSide)
        }
    }
}
