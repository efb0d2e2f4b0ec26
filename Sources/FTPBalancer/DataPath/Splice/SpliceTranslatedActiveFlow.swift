#if os(Linux)
import FTPDataPlane
import Logging
import NIOCore

/// A translated active data connection on the splice data path (client PORT/EPRT, server
/// PASV/EPSV): connects to the client first, as for PORT (see `ActiveDataListener`), then to the
/// port the server announced, and hands both sockets to a relay.
///
/// State lives on the splice event loop; `close()` may come from the session's event loop.
final class SpliceTranslatedActiveFlow: SpliceActiveStart, SpliceEventHandler, @unchecked Sendable {
    let port = 0
    private let loop: SpliceEventLoop
    private let launcher: SpliceFlowLauncher
    private let request: TranslatedActiveDataRequest
    private let flow: NIOLoopBound<DataFlow>
    private let logger: Logger
    /// Connected to the client and still watched (its events are ignored here) until the relay
    /// takes it over.
    private var clientSide: SpliceSocketHandle?
    /// The socket connecting to the client, until `start` gives it to a connector.
    private var connecting: Descriptor?
    private var launched = false

    /// Takes ownership of `clientSocket`, whose connect to the client has started.
    init(
        loop: SpliceEventLoop,
        launcher: SpliceFlowLauncher,
        clientSocket: consuming Descriptor,
        request: TranslatedActiveDataRequest,
        flow: NIOLoopBound<DataFlow>,
        logger: Logger
    ) {
        self.loop = loop
        self.launcher = launcher
        self.connecting = consume clientSocket
        self.request = request
        self.flow = flow
        self.logger = logger
    }

    /// On the loop's thread, once the connect to the client ended: then connect to the server,
    /// start the relay and complete `promise`.
    func start(promise: EventLoopPromise<SpliceTranslatedActiveFlow>) {
        guard let socket = self.connecting.take() else { return }
        let connector = SpliceConnector(loop: self.loop, socket: socket) { [self] outcome in
            switch consume outcome {
            case .connected(let client):
                if let token = client.token { self.loop.reassign(token, to: self) }
                self.clientSide = consume client
                self.connectToServer(promise: promise)
            case .failed(let error):
                promise.fail(
                    DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: self.request.client))
                )
            }
        }
        connector.start(timeout: self.request.connectTimeout.duration)
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
        let server: Descriptor
        do {
            server = try SpliceSocket.connecting(
                to: request.server,
                from: request.serverSideSource,
                transparent: request.transparent
            )
        } catch {
            unreachable(error)
            return
        }
        let connector = SpliceConnector(loop: self.loop, socket: server) { [self] outcome in
            switch consume outcome {
            case .connected(let server):
                guard let client = self.clientSide.take() else {
                    // Closed by the session meanwhile.
                    server.close(on: self.loop)
                    promise.fail(DataPathError(code: .bindFailed, detail: "closed before the server was reached"))
                    return
                }
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
            case .failed(let error):
                unreachable(error)
            }
        }
        connector.start(timeout: request.connectTimeout.duration)
    }

    /// Before the relay runs: the connection to the client goes; a running relay ends on its own.
    func close() {
        self.loop.execute { self.closeClient() }
    }

    func stop() {
        self.closeClient()
        self.connecting = nil
    }

    func handle(events: UInt32, on descriptor: CInt) {
        // The connection to the client needs nothing until the relay has it.
    }

    private func closeClient() {
        if let clientSide = self.clientSide.take() { clientSide.close(on: self.loop) }
    }
}
#endif
