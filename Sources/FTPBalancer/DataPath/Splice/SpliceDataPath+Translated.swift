#if os(Linux)
import FTPDataPlane
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
        let client: BoundPassivePort
        do {
            client = try Self.bindPassivePort(
                host: request.listenHost,
                ports: request.ports,
                client: request.clientHost,
                freebind: request.freebind,
                logger: logger
            )
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let server: Descriptor
        do {
            server = try Self.listenForServer(host: request.serverListenHost, transparent: request.transparent)
        } catch {
            request.ports.release(client.port)
            return eventLoop.makeFailedFuture(
                DataPathError(code: .bindFailed, detail: "\(request.serverListenHost): \(OperatorText.describe(error))")
            )
        }
        let clientPort = client.port
        let serverSidePort = SpliceSocket.localAddress(server.raw)?.port ?? 0
        let listener = SpliceTranslatedPassiveListener(
            port: clientPort,
            clientListening: client.socket,
            serverListening: server,
            serverSidePort: serverSidePort,
            loop: loop,
            launcher: self.launcher,
            request: request,
            flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
            logger: logger
        )
        guard loop.execute({ listener.start() }) else {
            listener.stop()
            return eventLoop.makeFailedFuture(DataPathError.stopped)
        }
        return eventLoop.assumeIsolated().makeSucceededFuture(listener as any TranslatedDataListener)
    }

    package func openTranslatedActive(
        _ request: TranslatedActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        self.startActive(
            client: request.client,
            from: request.clientSideSource,
            freebind: request.freebind,
            on: eventLoop
        ) { loop, socket in
            SpliceTranslatedActiveFlow(
                loop: loop,
                launcher: self.launcher,
                clientSocket: socket,
                request: request,
                flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
                logger: logger
            )
        }
    }

    /// The listening socket for the server's connection: a port the kernel chooses on the
    /// server-side address, or in transparent mode on the client's own.
    private static func listenForServer(host: String, transparent: Bool) throws -> Descriptor {
        let address = try SocketAddress(ipAddress: host, port: 0)
        return try SpliceSocket.listening(on: address, transparent: transparent)
    }
}
#endif
