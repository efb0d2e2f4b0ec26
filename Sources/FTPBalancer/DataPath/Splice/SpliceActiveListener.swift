#if os(Linux)
import FTPProtocol
import Glibc
import Logging
import NIOCore

/// Active mode on the splice data path: connects to the client from the advertised address and
/// port 20, then listens on the balancer's server-side address for the one connection from the
/// session's server, and hands both sockets to a relay.
///
/// The client is connected first, when PORT/EPRT arrives (see `ActiveDataListener` for why).
/// State lives on the splice event loop; `close()` may come from the session's event loop.
final class SpliceActiveListener: DataListener, SpliceEventHandler, @unchecked Sendable {
    /// Set on the loop before the open promise succeeds, read after it.
    private(set) var port: Int = 0
    private let loop: SpliceEventLoop
    private let launcher: SpliceFlowLauncher
    private let request: ActiveDataRequest
    private let flow: NIOLoopBound<DataFlow>
    private let logger: Logger
    /// Connected to the client, and still watched (its events are ignored here) so that the
    /// relay takes it over without an epoll_ctl, until the relay takes it.
    private var clientSide: SpliceSocketHandle?
    private var listening: CInt?
    private var token: UInt64?
    private var timer: Int?
    private var accepted = false
    private let acceptRetry: SpliceAcceptRetry

    init(
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        request: ActiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.loop = loop
        self.launcher = launcher
        self.request = request
        self.flow = flow
        self.logger = logger
        self.acceptRetry = SpliceAcceptRetry(loop: loop)
    }

    /// On the loop's thread, with the connect to the client started on `socket`: when it ends,
    /// open the listener and complete `promise`.
    func start(clientSocket socket: CInt, promise: EventLoopPromise<SpliceActiveListener>) {
        let connector = SpliceConnector(loop: self.loop, descriptor: socket) { [self] result in
            switch result {
            case .success(let socket):
                if let token = socket.token { self.loop.reassign(token, to: self) }
                self.clientSide = socket
                do {
                    try self.openListener()
                    promise.succeed(self)
                } catch {
                    self.closeAll()
                    promise.fail(
                        DataPathError(
                            code: .bindFailed,
                            detail: OperatorText.describe(error, host: self.request.listenHost, port: self.request.listenPort)
                        )
                    )
                }
            case .failure(let error):
                promise.fail(
                    DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: self.request.client))
                )
            }
        }
        connector.start(timeout: self.request.connectTimeout)
    }

    private func openListener() throws {
        let address = try SocketAddress(ipAddress: self.request.listenHost, port: self.request.listenPort)
        let descriptor = try SpliceSocket.make(for: address)
        self.listening = descriptor
        if self.request.transparent {
            // The listener takes the client's address and port, which an earlier transfer of the
            // same client may have left in TIME_WAIT here.
            try SpliceSocket.makeTransparent(descriptor, for: address)
        }
        try SpliceSocket.bind(descriptor, to: address)
        try SpliceSocket.listen(descriptor, backlog: 4)
        self.port = SpliceSocket.localAddress(descriptor)?.port ?? 0
        self.token = try self.loop.register(descriptor, handler: self)
        self.timer = self.loop.schedule(in: self.request.connectTimeout) { [weak self] in
            guard let self else { return }
            self.logger.notice("the server did not open the active data connection in time")
            self.closeAll()
        }
    }

    /// Closes the listener and, if the server never connected, the connection to the client.
    func close() {
        self.loop.execute { self.closeAll() }
    }

    func stop() {
        self.closeAll()
    }

    private func closeAll() {
        self.closeListener()
        if let clientSide = self.clientSide {
            clientSide.close(on: self.loop)
            self.clientSide = nil
        }
    }

    private func closeListener() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
        self.acceptRetry.cancel()
        if let token = self.token { self.loop.forget(token) }
        self.token = nil
        if let listening = self.listening { Glibc.close(listening) }
        self.listening = nil
    }

    func handle(events: UInt32, on descriptor: CInt) {
        // The connection to the client needs nothing until the relay has it.
        guard descriptor == self.listening else { return }
        self.acceptPending()
    }

    private func acceptPending() {
        self.acceptRetry.acceptAll(
            from: { [weak self] in self?.listening },
            logger: self.logger,
            metadata: ["ftp.port": "\(self.port)"]
        ) { [weak self] connection, peer in
            guard let self else {
                Glibc.close(connection)
                return
            }
            self.admit(connection, peer: peer)
        }
    }

    private func admit(_ connection: CInt, peer: String) {
        guard !self.accepted, peer == self.request.serverHost, let clientSide = self.clientSide else {
            self.logger.warning(
                "refused a connection to an active-mode listener",
                metadata: ["ftp.peer": "\(peer)", "ftp.expected": "\(self.request.serverHost)"]
            )
            Glibc.close(connection)
            return
        }
        self.accepted = true
        self.clientSide = nil
        self.closeListener()
        self.logger.debug(
            "data connection relayed",
            metadata: ["ftp.mode": "\(self.request.mode)", "ftp.client.data": "\(self.request.client.logDescription)"]
        )
        self.launcher.launch(
            on: self.loop,
            client: clientSide,
            server: SpliceSocketHandle(descriptor: connection),
            flow: self.flow,
            idleTimeout: self.request.idleTimeout,
            logger: self.logger
        )
    }
}
#endif
