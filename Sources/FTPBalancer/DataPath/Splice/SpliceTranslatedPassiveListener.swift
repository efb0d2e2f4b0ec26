#if os(Linux)
import FTPDataPlane
import Logging
import NIOCore
import Synchronization

/// A translated passive data connection on the splice data path (client PASV/EPSV, server
/// PORT/EPRT): one listening socket for the session's client on the advertised address, one for
/// its server on the balancer's server-side address, each taking one connection from its own
/// peer only; both sockets go to a relay once both are in, whichever came first.
///
/// State lives on the splice event loop; `close()` may come from the session's event loop.
final class SpliceTranslatedPassiveListener: TranslatedDataListener, SpliceEventHandler, @unchecked Sendable {
    let port: Int
    let serverSidePort: Int
    private let loop: SpliceEventLoop
    private let launcher: SpliceFlowLauncher
    private let request: TranslatedPassiveDataRequest
    private let flow: NIOLoopBound<DataFlow>
    private let logger: Logger
    private var clientListening: Descriptor?
    private var serverListening: Descriptor?
    private var tokens: [UInt64] = []
    private var clientSide: Descriptor?
    private var serverSide: Descriptor?
    private var timer: Int?
    private var clientAdmission: DataConnectionAdmission
    private var serverAdmission: DataConnectionAdmission
    private let clientRetry: SpliceAcceptRetry
    private let serverRetry: SpliceAcceptRetry
    /// Set once both listening sockets are closed, so that the session's `close()` of a listener
    /// whose connections came costs no hand-over.
    private let closed = Atomic<Bool>(false)

    /// Takes ownership of both listening sockets and of `port` in the request's allocator.
    init(
        port: Int,
        clientListening: consuming Descriptor,
        serverListening: consuming Descriptor,
        serverSidePort: Int,
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        request: TranslatedPassiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.port = port
        self.serverSidePort = serverSidePort
        self.clientListening = consume clientListening
        self.serverListening = consume serverListening
        self.loop = loop
        self.launcher = launcher
        self.request = request
        self.flow = flow
        self.logger = logger
        self.clientAdmission = DataConnectionAdmission(.translatedPassive(port: port), expectedPeer: request.clientHost)
        self.serverAdmission = DataConnectionAdmission(.active, expectedPeer: request.serverHost)
        self.clientRetry = SpliceAcceptRetry(loop: loop, logger: logger) { port }
        self.serverRetry = SpliceAcceptRetry(loop: loop, logger: logger) { serverSidePort }
    }

    /// On the loop's thread: wait for both connections, within the passive accept timeout.
    func start() {
        do {
            for descriptor in [self.clientListening?.raw, self.serverListening?.raw].compactMap({ $0 }) {
                self.tokens.append(try self.loop.register(descriptor, handler: self))
            }
        } catch {
            self.logger.error(
                "could not watch the ports of a translated data connection",
                metadata: ["ftp.error": "\(OperatorText.describe(error))"]
            )
            self.closeAll()
            return
        }
        self.timer = self.loop.schedule(in: self.request.acceptTimeout.duration) { [weak self] in
            guard let self else { return }
            self.logger.notice(
                "translated data connection not made in time; closing its ports",
                metadata: ["ftp.port": "\(self.port)", "ftp.client.connected": "\(self.clientSide != nil)"]
            )
            self.closeAll()
            let (flow, port) = (self.flow, self.port)
            flow.eventLoop.execute { flow.value.listenerExpired(port: port) }
        }
    }

    func close() {
        guard !self.closed.load(ordering: .acquiring) else { return }
        self.loop.execute { self.closeAll() }
    }

    func stop() {
        self.closeAll()
    }

    /// Closes the listening sockets and any connection not yet handed to a relay.
    private func closeAll() {
        self.closeListeners()
        self.clientSide = nil
        self.serverSide = nil
    }

    private func closeListeners() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
        self.clientRetry.cancel()
        self.serverRetry.cancel()
        for token in self.tokens { self.loop.forget(token) }
        self.tokens = []
        if let descriptor = self.clientListening.take() {
            descriptor.close()
            self.request.ports.release(self.port)
        }
        self.serverListening = nil
        self.closed.store(true, ordering: .releasing)
    }

    func handle(events: UInt32, on descriptor: CInt) {
        if descriptor == self.clientListening?.raw {
            self.clientRetry.acceptAll(from: { [weak self] in self?.clientListening?.raw }) { [weak self] connection, peer in
                guard let self else { return connection.close() }
                self.admit(connection, peer: SpliceAddress.canonicalHost(peer), fromClientSide: true)
            }
        } else if descriptor == self.serverListening?.raw {
            self.serverRetry.acceptAll(from: { [weak self] in self?.serverListening?.raw }) { [weak self] connection, peer in
                guard let self else { return connection.close() }
                self.admit(connection, peer: SpliceAddress.canonicalHost(peer), fromClientSide: false)
            }
        }
    }

    private func admit(_ connection: consuming Descriptor, peer: String, fromClientSide: Bool) {
        let admitted =
            fromClientSide
            ? self.clientAdmission.admits(peer: peer, logger: self.logger)
            : self.serverAdmission.admits(peer: peer, logger: self.logger)
        guard admitted else { return connection.close() }
        if fromClientSide {
            self.clientSide = consume connection
        } else {
            self.serverSide = consume connection
        }
        guard self.clientSide != nil, self.serverSide != nil,
            let clientSide = self.clientSide.take(), let serverSide = self.serverSide.take()
        else { return }
        // One connection per side: later ones are refused by the kernel.
        self.closeListeners()
        self.logger.debug("translated data connection relayed", metadata: ["ftp.mode": "\(self.request.mode)"])
        self.launcher.launch(
            on: self.loop,
            client: SpliceSocketHandle(descriptor: clientSide),
            server: SpliceSocketHandle(descriptor: serverSide),
            flow: self.flow,
            idleTimeout: self.request.idleTimeout,
            logger: self.logger
        )
    }
}
#endif
