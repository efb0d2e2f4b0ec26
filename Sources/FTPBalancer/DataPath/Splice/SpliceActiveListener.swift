#if os(Linux)
import FTPDataPlane
import Logging
import NIOCore

/// Active mode on the splice data path: connects to the client from the advertised address and
/// port 20, then listens on the balancer's server-side address for the one connection from the
/// session's server, and hands both sockets to a relay. The plane's adapter: the rules of who
/// may connect are here.
///
/// The client is connected first, when PORT/EPRT arrives (see `ActiveDataListener` for why).
/// State lives on the splice event loop; `close()` may come from the session's event loop.
final class SpliceActiveListener: SpliceActiveStart, SpliceEventHandler, @unchecked Sendable {
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
    /// The socket connecting to the client, until `start` gives it to a connector.
    private var connecting: Descriptor?
    private var listening: Descriptor?
    private var token: UInt64?
    private var timer: Int?
    private var admission: DataConnectionAdmission
    private lazy var acceptRetry = SpliceAcceptRetry(loop: self.loop, logger: self.logger) { [weak self] in self?.port ?? 0 }

    /// Takes ownership of `clientSocket`, whose connect to the client has started.
    init(
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        clientSocket: consuming Descriptor,
        request: ActiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.loop = loop
        self.launcher = launcher
        self.connecting = consume clientSocket
        self.request = request
        self.flow = flow
        self.logger = logger
        self.admission = DataConnectionAdmission(.active, expectedPeer: request.serverHost)
    }

    /// On the loop's thread: when the connect to the client ends, open the listener and
    /// complete `promise`.
    func start(promise: EventLoopPromise<SpliceActiveListener>) {
        guard let socket = self.connecting.take() else { return }
        let connector = SpliceConnector(loop: self.loop, socket: socket) { [self] outcome in
            switch consume outcome {
            case .connected(let socket):
                if let token = socket.token { self.loop.reassign(token, to: self) }
                self.clientSide = consume socket
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
            case .failed(let error):
                promise.fail(
                    DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: self.request.client))
                )
            }
        }
        connector.start(timeout: self.request.connectTimeout.duration)
    }

    private func openListener() throws {
        let address = try SocketAddress(ipAddress: self.request.listenHost, port: self.request.listenPort)
        // In transparent mode the listener takes the client's address and port, which an earlier
        // transfer of the same client may have left in TIME_WAIT here.
        let listening = try SpliceSocket.listening(on: address, transparent: self.request.transparent)
        let descriptor = listening.raw
        self.listening = consume listening
        self.port = SpliceSocket.localAddress(descriptor)?.port ?? 0
        self.token = try self.loop.register(descriptor, handler: self)
        self.timer = self.loop.schedule(in: self.request.connectTimeout.duration) { [weak self] in
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
        self.connecting = nil
    }

    private func closeAll() {
        self.closeListener()
        if let clientSide = self.clientSide.take() {
            clientSide.close(on: self.loop)
        }
    }

    private func closeListener() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
        self.acceptRetry.cancel()
        if let token = self.token { self.loop.forget(token) }
        self.token = nil
        self.listening = nil
    }

    func handle(events: UInt32, on descriptor: CInt) {
        // The connection to the client needs nothing until the relay has it.
        guard descriptor == self.listening?.raw else { return }
        self.acceptPending()
    }

    private func acceptPending() {
        self.acceptRetry.acceptAll(from: { [weak self] in self?.listening?.raw }) { [weak self] connection, peer in
            guard let self else { return connection.close() }
            self.admit(connection, peer: SpliceAddress.canonicalHost(peer))
        }
    }

    private func admit(_ connection: consuming Descriptor, peer: String) {
        guard self.admission.admits(peer: peer, open: self.clientSide != nil, logger: self.logger),
            let clientSide = self.clientSide.take()
        else {
            return connection.close()
        }
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
