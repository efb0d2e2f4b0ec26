#if os(Linux)
import FTPProtocol
import Glibc
import Logging
import NIOCore
import Synchronization

/// Passive mode on the splice data path: a listener on the advertised address that accepts one
/// connection from the session's client, connects to the port the server announced, and hands
/// both sockets to a relay.
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
    private var descriptor: CInt?
    private var token: UInt64?
    private var timer: Int?
    private var accepted = false
    private let acceptRetry: SpliceAcceptRetry
    /// Set on the loop's thread once the listening socket is closed, so that the session's
    /// `close()` of a listener whose connection came (nearly always) costs no hand-over.
    private let listenerClosed = Atomic<Bool>(false)

    /// Takes ownership of the listening socket and of `port` in the request's allocator.
    init(
        port: Int,
        descriptor: CInt,
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        request: PassiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.port = port
        self.descriptor = descriptor
        self.loop = loop
        self.launcher = launcher
        self.request = request
        self.flow = flow
        self.logger = logger
        self.acceptRetry = SpliceAcceptRetry(loop: loop)
    }

    /// On the loop's thread: wait for the client, within the accept timeout.
    func start() {
        guard let descriptor = self.descriptor else { return }
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
        self.timer = self.loop.schedule(in: self.request.acceptTimeout) { [weak self] in
            guard let self else { return }
            self.logger.notice(
                "passive data connection not made in time; closing its port",
                metadata: ["ftp.port": "\(self.port)"]
            )
            self.closeListener()
        }
    }

    func close() {
        guard !self.listenerClosed.load(ordering: .acquiring) else { return }
        self.loop.execute { self.closeListener() }
    }

    func stop() {
        self.closeListener()
    }

    /// Closes the listening socket and gives its port back; a connection already accepted goes on.
    func closeListener() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
        self.acceptRetry.cancel()
        if let token = self.token { self.loop.forget(token) }
        self.token = nil
        if let descriptor = self.descriptor {
            Glibc.close(descriptor)
            self.request.ports.release(self.port)
        }
        self.descriptor = nil
        self.listenerClosed.store(true, ordering: .releasing)
    }

    func handle(events: UInt32, on descriptor: CInt) {
        self.acceptPending()
    }

    private func acceptPending() {
        self.acceptRetry.acceptAll(
            from: { [weak self] in self?.descriptor },
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
        guard !self.accepted else {
            self.logger.notice("refused a second connection to a passive port", metadata: ["ftp.peer": "\(peer)"])
            Glibc.close(connection)
            return
        }
        guard peer == self.request.clientHost else {
            self.request.misrouted?.record(peer: peer, port: self.port, logger: self.logger)
            Glibc.close(connection)
            return
        }
        self.accepted = true
        // One data connection per listener: later ones are refused by the kernel.
        self.closeListener()
        self.connectToServer(client: connection)
    }

    private func connectToServer(client: CInt) {
        let request = self.request
        let server: CInt
        do {
            server = try SpliceSocket.make(for: request.server)
            do {
                if request.transparent {
                    try SpliceSocket.makeTransparent(server, for: request.serverSideSource)
                }
                try SpliceSocket.bind(server, to: request.serverSideSource)
                _ = try SpliceSocket.connect(server, to: request.server)
            } catch {
                Glibc.close(server)
                throw error
            }
        } catch {
            self.serverUnreachable(error, client: client)
            return
        }
        let connector = SpliceConnector(loop: self.loop, descriptor: server) { [self] result in
            switch result {
            case .success(let server):
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
            case .failure(let error):
                self.serverUnreachable(error, client: client)
            }
        }
        connector.start(timeout: request.connectTimeout)
    }

    private func serverUnreachable(_ error: any Error, client: CInt) {
        self.logger.warning(
            "could not connect to the server's passive port",
            metadata: ["ftp.server.data": "\(self.request.server.logDescription)", "ftp.error": "\(OperatorText.describe(error))"]
        )
        Glibc.close(client)
    }
}
#endif
