import Logging
import NIOCore
import NIOPosix

/// The data path on SwiftNIO channels: listeners from ServerBootstrap, connections from
/// ClientBootstrap, bytes moved by `DataRelayHandler`.
package struct NIODataPath: DataPath {
    package init() {}

    package func openPassive(
        _ request: PassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        Self.bindPassivePort(
            host: request.listenHost,
            ports: request.ports,
            client: request.clientHost,
            freebind: request.freebind,
            on: eventLoop,
            logger: logger,
            make: { PassiveDataListener(port: $0, request: request, observer: observer, logger: logger) },
            accept: { $0.accept($1) }
        )
        .assumeIsolated()
        .map { bound -> any DataListener in
            bound.acceptor.listening(on: bound.channel)
            return bound.acceptor
        }
        .nonisolated()
    }

    /// Binds a listener at a free port of the passive range on `host`, retrying as
    /// `PassivePortBinding` says. `make` builds what accepts on each port tried; the port goes
    /// back to the range when the listener closes.
    static func bindPassivePort<Acceptor: AnyObject>(
        host: String,
        ports: PassivePortAllocator,
        client: String,
        freebind: Bool,
        on eventLoop: any EventLoop,
        logger: Logger,
        make: @escaping (Int) -> Acceptor,
        accept: @escaping (Acceptor, Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<(channel: Channel, acceptor: Acceptor)> {
        let promise = eventLoop.makePromise(of: (channel: Channel, acceptor: Acceptor).self)
        // One bind after another on this event loop, as long as the binding says.
        func attempt(_ binding: PassivePortBinding) {
            var binding = binding
            let port: Int
            switch binding.next(allocate: { ports.allocate(for: client) }) {
            case .fail(let error):
                return promise.fail(error)
            case .bind(let allocated):
                port = allocated
            }
            let acceptor = make(port)
            let bound = NIOLoopBound((acceptor, accept), eventLoop: eventLoop)
            var bootstrap = Self.listenerBootstrap(on: eventLoop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            if freebind, let option = FreebindSocket.option(forHost: host) {
                bootstrap = bootstrap.serverChannelOption(option, value: 1)
            }
            bootstrap
                .childChannelInitializer { channel in
                    bound.value.1(bound.value.0, channel)
                }
                .bind(host: host, port: port)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        channel.closeFuture.whenComplete { _ in ports.release(port) }
                        promise.assumeIsolated().succeed((channel, acceptor))
                    case .failure(let error):
                        ports.release(port)
                        binding.bindFailed(port: port, error: error, logger: logger)
                        attempt(binding)
                    }
                }
        }
        attempt(PassivePortBinding(host: host, ports: ports))
        return promise.futureResult
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
                Self.activeListenerBootstrap(
                    transparent: request.transparent,
                    host: request.listenHost,
                    port: request.listenPort,
                    on: eventLoop
                )
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
    static func activeListenerBootstrap(
        transparent: Bool,
        host: String,
        port: Int,
        on eventLoop: any EventLoop
    ) -> ServerBootstrap {
        let bootstrap = Self.listenerBootstrap(on: eventLoop)
        guard transparent, let address = try? SocketAddress(ipAddress: host, port: port) else {
            return bootstrap
        }
        return
            bootstrap
            .serverChannelOption(TransparentSocket.option(for: address), value: 1)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    }

    /// A listener for one data connection, whose accepted channel gets the data options.
    static func listenerBootstrap(on eventLoop: any EventLoop) -> ServerBootstrap {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 4)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.recvAllocator, value: NIODataRelay.receiveAllocator)
            .childChannelOption(.writeBufferWaterMark, value: NIODataRelay.waterMark)
    }
}
