import Logging
import NIOCore
import NIOPosix

/// The data path on SwiftNIO channels: listeners from ServerBootstrap, connections from
/// ClientBootstrap, bytes moved by `DataRelayHandler`.
package struct NIODataPath: DataPath {
    /// Ports of the passive range tried before giving up, when another process holds some.
    private static let bindAttempts = 16

    package init() {}

    package func openPassive(
        _ request: PassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        let promise = eventLoop.makePromise(of: (any DataListener).self)
        self.bindPassive(
            request,
            on: eventLoop,
            observer: observer,
            logger: logger,
            attemptsLeft: Self.bindAttempts,
            promise: promise
        )
        return promise.futureResult
    }

    private func bindPassive(
        _ request: PassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger,
        attemptsLeft: Int,
        promise: EventLoopPromise<any DataListener>
    ) {
        guard let port = request.ports.allocate(for: request.clientHost) else {
            promise.fail(DataPathError.exhausted(request.ports))
            return
        }
        let listener = PassiveDataListener(port: port, request: request, observer: observer, logger: logger)
        let bound = NIOLoopBound(listener, eventLoop: eventLoop)
        var bootstrap = Self.listenerBootstrap(on: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if request.freebind, let freebind = FreebindSocket.option(forHost: request.listenHost) {
            bootstrap = bootstrap.serverChannelOption(freebind, value: 1)
        }
        bootstrap
            .childChannelInitializer { channel in
                bound.value.accept(channel)
            }
            .bind(host: request.listenHost, port: port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    listener.listening(on: channel)
                    promise.assumeIsolated().succeed(listener)
                case .failure(let error):
                    request.ports.release(port)
                    guard attemptsLeft > 1 else {
                        promise.fail(
                            DataPathError(
                                code: .bindFailed,
                                detail: OperatorText.describe(error, host: request.listenHost, port: port)
                            )
                        )
                        return
                    }
                    logger.debug(
                        "passive port busy, trying another",
                        metadata: ["ftp.port": "\(port)", "ftp.error": "\(OperatorText.describe(error))"]
                    )
                    self.bindPassive(
                        request,
                        on: eventLoop,
                        observer: observer,
                        logger: logger,
                        attemptsLeft: attemptsLeft - 1,
                        promise: promise
                    )
                }
            }
    }

    package func openActive(
        _ request: ActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        let promise = eventLoop.makePromise(of: (any DataListener).self)
        let listener = ActiveDataListener(request: request, observer: observer, logger: logger)
        let bound = NIOLoopBound(listener, eventLoop: eventLoop)
        listener.connectToClient(on: eventLoop)
            .assumeIsolated()
            .whenComplete { result in
                if case .failure(let error) = result {
                    promise.fail(
                        DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: request.client))
                    )
                    return
                }
                Self.activeListenerBootstrap(for: request, on: eventLoop)
                    .childChannelInitializer { channel in
                        bound.value.accept(channel)
                    }
                    .bind(host: request.listenHost, port: request.listenPort)
                    .assumeIsolated()
                    .whenComplete { result in
                        switch result {
                        case .success(let channel):
                            listener.listening(on: channel)
                            promise.assumeIsolated().succeed(listener)
                        case .failure(let error):
                            listener.close()
                            promise.fail(
                                DataPathError(
                                    code: .bindFailed,
                                    detail: OperatorText.describe(error, host: request.listenHost, port: request.listenPort)
                                )
                            )
                        }
                    }
            }
        return promise.futureResult
    }

    /// In transparent mode the listener takes the client's address and port, which an earlier
    /// transfer of the same client may have left in TIME_WAIT here.
    private static func activeListenerBootstrap(
        for request: ActiveDataRequest,
        on eventLoop: any EventLoop
    ) -> ServerBootstrap {
        let bootstrap = Self.listenerBootstrap(on: eventLoop)
        guard request.transparent,
            let address = try? SocketAddress(ipAddress: request.listenHost, port: request.listenPort)
        else {
            return bootstrap
        }
        return
            bootstrap
            .serverChannelOption(TransparentSocket.option(for: address), value: 1)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    }

    /// A listener for one data connection, whose accepted channel gets the data options.
    private static func listenerBootstrap(on eventLoop: any EventLoop) -> ServerBootstrap {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 4)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.recvAllocator, value: NIODataRelay.receiveAllocator)
            .childChannelOption(.writeBufferWaterMark, value: NIODataRelay.waterMark)
    }
}
