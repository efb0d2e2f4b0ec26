#if os(Linux)
import FTPDataPlane
import Logging
import NIOCore
import Synchronization

/// Passive mode on the splice data path: a listener on the advertised address that accepts one
/// connection from the session's client, connects to the port the server announced, and hands
/// both sockets to a relay. The plane's adapter: the rules of who may connect are here.
///
/// Its state lives on its splice event loop; `close()` may come from the session's event loop
/// and is handed over.
final class SplicePassiveListener: DataListener, SpliceEventHandler, @unchecked Sendable {
    let port: Int
    private let loop: SpliceEventLoop
    private let launcher: SpliceFlowLauncher
    private let request: PassiveDataRequest
    private let flow: NIOLoopBound<DataFlow>
    private let logger: Logger
    private var socket: Descriptor?
    /// The accepted client's connection, while the one to the server is made.
    private var clientSide: Descriptor?
    private var token: UInt64?
    private var timer: Int?
    private var admission: DataConnectionAdmission
    private let acceptRetry: SpliceAcceptRetry
    /// Set on the loop's thread once the listening socket is closed, so that the session's
    /// `close()` of a listener whose connection came (nearly always) costs no hand-over.
    private let listenerClosed = Atomic<Bool>(false)

    /// Takes ownership of the listening socket and of `port` in the request's allocator.
    init(
        port: Int,
        socket: consuming Descriptor,
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        request: PassiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.port = port
        self.socket = consume socket
        self.loop = loop
        self.launcher = launcher
        self.request = request
        self.flow = flow
        self.logger = logger
        self.admission = DataConnectionAdmission(.passive(port: port), expectedPeer: request.clientHost)
        self.acceptRetry = SpliceAcceptRetry(loop: loop, logger: logger) { port }
    }

    /// On the loop's thread: wait for the client, within the accept timeout.
    func start() {
        guard let descriptor = self.socket?.raw else { return }
        do {
            self.token = try self.loop.register(descriptor, handler: self)
        } catch {
            self.logger.error(
                "could not watch a passive port",
                metadata: ["ftp.port": "\(self.port)", "ftp.error": "\(OperatorText.describe(error))"]
            )
            self.closeListener()
            return
        }
        self.timer = self.loop.schedule(in: self.request.acceptTimeout.duration) { [weak self] in
            guard let self else { return }
            self.logger.notice(
                "passive data connection not made in time; closing its port",
                metadata: ["ftp.port": "\(self.port)"]
            )
            self.closeListener()
            let (flow, port) = (self.flow, self.port)
            flow.eventLoop.execute { flow.value.listenerExpired(port: port) }
        }
    }

    func close() {
        guard !self.listenerClosed.load(ordering: .acquiring) else { return }
        self.loop.execute { self.closeListener() }
    }

    func stop() {
        self.closeListener()
        self.clientSide = nil
    }

    /// Closes the listening socket and gives its port back; a connection already accepted goes on.
    func closeListener() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
        self.acceptRetry.cancel()
        if let token = self.token { self.loop.forget(token) }
        self.token = nil
        if let socket = self.socket.take() {
            socket.close()
            self.request.ports.release(self.port)
        }
        self.listenerClosed.store(true, ordering: .releasing)
    }

    func handle(events: UInt32, on descriptor: CInt) {
        self.acceptPending()
    }

    private func acceptPending() {
        self.acceptRetry.acceptAll(from: { [weak self] in self?.socket?.raw }) { [weak self] connection, peer in
            guard let self else { return connection.close() }
            self.admit(connection, peer: SpliceAddress.canonicalHost(peer))
        }
    }

    private func admit(_ connection: consuming Descriptor, peer: String) {
        guard self.admission.admits(peer: peer, logger: self.logger, misrouted: self.request.misrouted) else {
            return connection.close()
        }
        // One data connection per listener: later ones are refused by the kernel.
        self.closeListener()
        self.clientSide = consume connection
        self.connectToServer()
    }

    private func connectToServer() {
        let request = self.request
        let server: Descriptor
        do {
            server = try SpliceSocket.connecting(
                to: request.server,
                from: request.serverSideSource,
                transparent: request.transparent
            )
        } catch {
            self.serverUnreachable(error)
            return
        }
        let connector = SpliceConnector(loop: self.loop, socket: server) { [self] outcome in
            switch consume outcome {
            case .connected(let server):
                guard let client = self.clientSide.take() else { return server.close(on: self.loop) }
                self.logger.debug(
                    "data connection relayed",
                    metadata: ["ftp.mode": "\(request.mode)", "ftp.server.data": "\(request.server.logDescription)"]
                )
                self.launcher.launch(
                    on: self.loop,
                    client: SpliceSocketHandle(descriptor: client),
                    server: server,
                    flow: self.flow,
                    idleTimeout: request.idleTimeout,
                    logger: self.logger
                )
            case .failed(let error):
                self.serverUnreachable(error)
            }
        }
        connector.start(timeout: request.connectTimeout.duration)
    }

    /// The client's connection goes, the server's passive port being out of reach.
    private func serverUnreachable(_ error: any Error) {
        self.logger.warning(
            "could not connect to the server's passive port",
            metadata: ["ftp.server.data": "\(self.request.server.logDescription)", "ftp.error": "\(OperatorText.describe(error))"]
        )
        self.clientSide = nil
    }
}
#endif
