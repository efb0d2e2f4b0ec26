#if os(Linux)
import Glibc
import Logging
import NIOCore

/// Translated data connections (the server gets another mode than the client) on splice(2):
/// listening on both sides, or connecting to both, on the data path's own sockets.
extension SpliceDataPath {
    package func openTranslatedPassive(
        _ request: TranslatedPassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any TranslatedDataListener> {
        let loop = self.loop()
        let client: (descriptor: CInt, port: Int)
        switch Self.bindPassivePort(
            host: request.listenHost,
            ports: request.ports,
            client: request.clientHost,
            freebind: request.freebind,
            logger: logger
        ) {
        case .success(let socket): client = socket
        case .failure(let error): return eventLoop.makeFailedFuture(error)
        }
        let server: (descriptor: CInt, port: Int)
        do {
            server = try Self.listenForServer(host: request.serverListenHost, transparent: request.transparent)
        } catch {
            Glibc.close(client.descriptor)
            request.ports.release(client.port)
            return eventLoop.makeFailedFuture(
                DataPathError(code: .bindFailed, detail: "\(request.serverListenHost): \(OperatorText.describe(error))")
            )
        }
        let listener = SpliceTranslatedPassiveListener(
            port: client.port,
            clientListening: client.descriptor,
            serverListening: server.descriptor,
            serverSidePort: server.port,
            loop: loop,
            launcher: self.launcher,
            request: request,
            flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
            logger: logger
        )
        guard loop.execute({ listener.start() }) else {
            listener.stop()
            return eventLoop.makeFailedFuture(DataPathError(code: .bindFailed, detail: "the data path has stopped"))
        }
        return eventLoop.assumeIsolated().makeSucceededFuture(listener as any TranslatedDataListener)
    }

    package func openTranslatedActive(
        _ request: TranslatedActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        let loop = self.loop()
        // Completed on the splice thread; the session reads it on its own event loop.
        let promise = eventLoop.makePromise(of: SpliceTranslatedActiveFlow.self)
        let opened = promise.futureResult.assumeIsolated().map { $0 as any DataListener }.nonisolated()
        let socket: CInt
        switch Self.connectToClient(request.client, from: request.clientSideSource, freebind: request.freebind) {
        case .success(let started): socket = started
        case .failure(let error):
            promise.fail(error)
            return opened
        }
        let flow = SpliceTranslatedActiveFlow(
            loop: loop,
            launcher: self.launcher,
            request: request,
            flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
            logger: logger
        )
        guard loop.execute({ flow.start(clientSocket: socket, promise: promise) }) else {
            Glibc.close(socket)
            promise.fail(DataPathError(code: .bindFailed, detail: "the data path has stopped"))
            return opened
        }
        return opened
    }

    /// The listening socket for the server's connection: a port the kernel chooses on the
    /// server-side address, or in transparent mode on the client's own.
    private static func listenForServer(host: String, transparent: Bool) throws -> (descriptor: CInt, port: Int) {
        let address = try SocketAddress(ipAddress: host, port: 0)
        let descriptor = try SpliceSocket.make(for: address)
        do {
            if transparent {
                try SpliceSocket.makeTransparent(descriptor, for: address)
            }
            try SpliceSocket.bind(descriptor, to: address)
            try SpliceSocket.listen(descriptor, backlog: 4)
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        return (descriptor, SpliceSocket.localAddress(descriptor)?.port ?? 0)
    }
}
#endif
