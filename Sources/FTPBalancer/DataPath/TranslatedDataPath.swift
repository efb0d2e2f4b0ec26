import Logging
import NIOCore

/// The client asked for passive mode and the server gets PORT/EPRT: the balancer listens on
/// both sides, for the client on the advertised address and for the server on its server-side
/// address, and relays once both have connected.
package struct TranslatedPassiveDataRequest {
    package var mode: DataConnectionMode
    /// The client's listener: on the advertised address, at a port of the passive range.
    package var listenHost: String
    package var ports: PassivePortAllocator
    /// Only this address may connect to the client's listener: the control session's client.
    package var clientHost: String
    /// The server's listener: the balancer's address on the server side (in transparent mode,
    /// the client's own, with `transparent` set).
    package var serverListenHost: String
    /// Only this address may connect to the server's listener: the session's server.
    package var serverHost: String
    package var transparent: Bool
    /// `listen_freebind`: the client's listener binds even before the VIP is on this host.
    package var freebind: Bool
    package var acceptTimeout: TimeAmount
    package var connectTimeout: TimeAmount
    package var idleTimeout: TimeAmount
    /// `PROT P`: the client's side is TLS.
    var protection: DataProtection?
    /// `server_tls` with `PROT P`: the server's side is TLS.
    var serverProtection: ServerDataProtection?
}

/// The client asked for active mode and the server gets PASV/EPSV: the balancer connects to
/// both, to the client from the advertised address and port 20 and to the port the server
/// announced, and relays.
package struct TranslatedActiveDataRequest {
    package var mode: DataConnectionMode
    /// The address and port the client named in PORT/EPRT, and where to connect from.
    package var client: SocketAddress
    package var clientSideSource: SocketAddress
    /// The port the server announced, at its control address, and the address the server knows
    /// from the control connection (servers such as vsftpd refuse data from any other).
    package var server: SocketAddress
    package var serverSideSource: SocketAddress
    package var transparent: Bool
    /// `listen_freebind`: the connection to the client may leave from a VIP not held yet.
    package var freebind: Bool
    package var connectTimeout: TimeAmount
    package var idleTimeout: TimeAmount
    /// `PROT P`: the client's side is TLS.
    var protection: DataProtection?
    /// `server_tls` with `PROT P`: the server's side is TLS.
    var serverProtection: ServerDataProtection?
}

/// The listeners of a translated passive data connection: `port` is the client's, in the reply
/// to its PASV/EPSV; `serverSidePort` is the server's, in the PORT/EPRT it gets.
package protocol TranslatedDataListener: DataListener {
    var serverSidePort: Int { get }
}

/// Translated data connections on SwiftNIO channels (`data_path.relay: copy`).
extension NIODataPath {
    package func openTranslatedPassive(
        _ request: TranslatedPassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any TranslatedDataListener> {
        let promise = eventLoop.makePromise(of: (any TranslatedDataListener).self)
        NIODataPath.bindPassivePort(
            host: request.listenHost,
            ports: request.ports,
            client: request.clientHost,
            freebind: request.freebind,
            on: eventLoop,
            logger: logger,
            make: { TranslatedPassiveListener(port: $0, request: request, observer: observer, logger: logger) },
            accept: { $0.acceptClient($1) }
        )
        .assumeIsolated()
        .whenComplete { result in
            switch result {
            case .success(let bound):
                let listener = bound.acceptor
                listener.clientListening(on: bound.channel)
                let boundListener = NIOLoopBound(listener, eventLoop: eventLoop)
                NIODataPath.activeListenerBootstrap(
                    transparent: request.transparent,
                    host: request.serverListenHost,
                    port: 0,
                    on: eventLoop
                )
                .childChannelInitializer { channel in
                    boundListener.value.acceptServer(channel)
                }
                .bind(host: request.serverListenHost, port: 0)
                .assumeIsolated()
                .whenComplete { result in
                    switch result {
                    case .success(let channel):
                        listener.serverListening(on: channel)
                        promise.assumeIsolated().succeed(listener)
                    case .failure(let error):
                        listener.close()
                        promise.fail(DataPathError(code: .bindFailed, detail: "\(request.serverListenHost): \(OperatorText.describe(error))"))
                    }
                }
            case .failure(let error):
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    package func openTranslatedActive(
        _ request: TranslatedActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        let flow = TranslatedActiveFlow(request: request, observer: observer, logger: logger)
        let promise = eventLoop.makePromise(of: (any DataListener).self)
        flow.connect(on: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .success: promise.assumeIsolated().succeed(flow)
            case .failure(let error): promise.fail(error)
            }
        }
        return promise.futureResult
    }
}
