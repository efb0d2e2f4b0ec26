#if os(Linux)
import Glibc
import Logging
import NIOCore

/// A translated active data connection on the splice data path (client PORT/EPRT, server
/// PASV/EPSV): connects to the client first, as for PORT (see `ActiveDataListener`), then to the
/// port the server announced, and hands both sockets to a relay.
///
/// State lives on the splice event loop; `close()` may come from the session's event loop.
final class SpliceTranslatedActiveFlow: DataListener, SpliceEventHandler, @unchecked Sendable {
    let port = 0
    private let loop: SpliceEventLoop
    private let launcher: SpliceFlowLauncher
    private let request: TranslatedActiveDataRequest
    private let flow: NIOLoopBound<DataFlow>
    private let logger: Logger
    /// Connected to the client and still watched (its events are ignored here) until the relay
    /// takes it over.
    private var clientSide: SpliceSocketHandle?
    private var launched = false

    init(
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        request: TranslatedActiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.loop = loop
        self.launcher = launcher
        self.request = request
        self.flow = flow
        self.logger = logger
    }

    /// On the loop's thread, with the connect to the client started on `socket`: then connect to
    /// the server, start the relay and complete `promise`.
    func start(clientSocket socket: CInt, promise: EventLoopPromise<SpliceTranslatedActiveFlow>) {
        let connector = SpliceConnector(loop: self.loop, descriptor: socket) { [self] result in
            switch result {
            case .success(let client):
                if let token = client.token { self.loop.reassign(token, to: self) }
                self.clientSide = client
                self.connectToServer(promise: promise)
            case .failure(let error):
                promise.fail(
                    DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: self.request.client))
                )
            }
        }
        connector.start(timeout: self.request.connectTimeout)
    }

    private func connectToServer(promise: EventLoopPromise<SpliceTranslatedActiveFlow>) {
        let request = self.request
        let unreachable = { (error: any Error) in
            self.closeClient()
            promise.fail(
                DataPathError(
                    code: .bindFailed,
                    detail: "the server's passive port \(request.server.logDescription): \(OperatorText.describe(error))"
                )
            )
        }
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
            unreachable(error)
            return
        }
        let connector = SpliceConnector(loop: self.loop, descriptor: server) { [self] result in
            switch result {
            case .success(let server):
                guard let client = self.clientSide else {
                    // Closed by the session meanwhile.
                    server.close(on: self.loop)
                    promise.fail(DataPathError(code: .bindFailed, detail: "closed before the server was reached"))
                    return
                }
                self.clientSide = nil
                self.launched = true
                self.logger.debug("translated data connection relayed", metadata: ["ftp.mode": "\(request.mode)"])
                self.launcher.launch(
                    on: self.loop,
                    client: client,
                    server: server,
                    flow: self.flow,
                    idleTimeout: request.idleTimeout,
                    logger: self.logger
                )
                promise.succeed(self)
            case .failure(let error):
                unreachable(error)
            }
        }
        connector.start(timeout: request.connectTimeout)
    }

    /// Before the relay runs: the connection to the client goes; a running relay ends on its own.
    func close() {
        self.loop.execute { self.closeClient() }
    }

    func stop() {
        self.closeClient()
    }

    func handle(events: UInt32, on descriptor: CInt) {
        // The connection to the client needs nothing until the relay has it.
    }

    private func closeClient() {
        self.clientSide?.close(on: self.loop)
        self.clientSide = nil
    }
}
#endif
