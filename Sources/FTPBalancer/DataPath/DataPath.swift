import Logging
import NIOCore

/// How a data connection was set up, as the client asked for it.
package enum DataConnectionMode: String, Sendable, CaseIterable {
    case pasv, epsv, port, eprt
}

/// What a data connection did, reported once when both of its sides have closed.
package struct DataFlowReport: Sendable {
    package var mode: DataConnectionMode
    package var bytesToClient: Int
    package var bytesToServer: Int
    package var duration: TimeAmount
}

/// Receives the events of the data connections a control session asked for. Called on the
/// session's event loop.
package protocol DataFlowObserver: AnyObject {
    /// Both sides of a data connection are connected; bytes are moving.
    func dataFlowStarted(_ flow: DataFlow)
    /// A data connection that started has closed on both sides.
    func dataFlowEnded(_ flow: DataFlow, report: DataFlowReport)
    /// The passive listener on `port` closed for its accept timeout: no client connected.
    func dataListenerExpired(port: Int)
    /// A protected (`PROT P`) data connection to the client is connected; its TLS handshake is
    /// to come, and `protectedDataSettled` follows once.
    func protectedDataConnecting()
    func protectedDataSettled(_ outcome: ProtectedDataOutcome)
    /// `server_tls` with `PROT P`: the server side's handshake ended.
    func serverDataTLSSettled(_ outcome: ServerDataTLSOutcome)
}

extension DataFlowObserver {
    package func dataListenerExpired(port: Int) {}
    package func protectedDataConnecting() {}
    package func protectedDataSettled(_ outcome: ProtectedDataOutcome) {}
    package func serverDataTLSSettled(_ outcome: ServerDataTLSOutcome) {}
}

/// A listener waiting for the one data connection it was opened for. It closes itself after
/// that connection or its timeout; `close()` is for when the session no longer wants it.
package protocol DataListener: AnyObject {
    var port: Int { get }
    func close()
}

/// Passive mode: the client connects to the balancer, the balancer to the server.
package struct PassiveDataRequest {
    package var mode: DataConnectionMode
    /// Where the listener is opened: the advertised address.
    package var listenHost: String
    package var ports: PassivePortAllocator
    /// Only this address may connect: the control session's client.
    package var clientHost: String
    /// The port the server announced, at the server's control address.
    package var server: SocketAddress
    /// The local address (port 0) the server already knows from the control connection: servers
    /// such as vsftpd refuse data connections from another address.
    package var serverSideSource: SocketAddress
    /// `serverSideSource` is the client's address (transparent mode).
    package var transparent: Bool
    package var acceptTimeout: TimeAmount
    package var connectTimeout: TimeAmount
    package var idleTimeout: TimeAmount
    /// Listen on `listenHost` even while the host does not hold it (`listen_freebind`).
    package var freebind: Bool = false
    /// Told of a connection from another address than `clientHost`.
    package var misrouted: MisroutedDataConnections?
    /// `PROT P`: the client's side is TLS.
    var protection: DataProtection?
    /// `server_tls` with `PROT P`: the server's side is TLS.
    var serverProtection: ServerDataProtection?
}

/// Active mode: the server connects to the balancer, the balancer to the client.
package struct ActiveDataRequest {
    package var mode: DataConnectionMode
    /// Where the listener is opened: the balancer's address on the server side, or in
    /// transparent mode the client's own address and port, where the server's connection to
    /// the client is intercepted.
    package var listenHost: String
    /// 0 lets the kernel choose.
    package var listenPort: Int
    /// The listener binds an address of another host (the client's).
    package var transparent: Bool
    /// Only this address may connect: the session's server.
    package var serverHost: String
    /// The address and port the client named in PORT/EPRT.
    package var client: SocketAddress
    /// The source of the connection to the client: the advertised address and port 20, as a
    /// server's active connection would come from its port 20.
    package var clientSideSource: SocketAddress
    package var connectTimeout: TimeAmount
    package var idleTimeout: TimeAmount
    /// Bind `clientSideSource` even while the host does not hold it (`listen_freebind`).
    package var freebind: Bool = false
    /// `PROT P`: the client's side is TLS.
    var protection: DataProtection?
    /// `server_tls` with `PROT P`: the server's side is TLS.
    var serverProtection: ServerDataProtection?
}

/// Opens the data connections of control sessions and relays their bytes. Kept narrow so that
/// the relay can move to another mechanism (splice(2)) without touching the sessions.
package protocol DataPath: Sendable {
    func openPassive(
        _ request: PassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener>

    func openActive(
        _ request: ActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener>

    /// The client asked for passive mode, the server gets PORT/EPRT (`TranslatedDataPath.swift`).
    func openTranslatedPassive(
        _ request: TranslatedPassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any TranslatedDataListener>

    /// The client asked for active mode, the server gets PASV/EPSV.
    func openTranslatedActive(
        _ request: TranslatedActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener>

    /// Each relay thread's last turn round its loop (nil: not running), for `/healthz`. Empty
    /// for a data path that relays on SwiftNIO's event loops, whose heartbeat covers it.
    var relayThreadTurns: [NIODeadline?] { get }
}

extension DataPath {
    package var relayThreadTurns: [NIODeadline?] { [] }
}

/// Why a data connection could not be prepared.
package struct DataPathError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Code: Equatable, Sendable {
        case passivePortsExhausted
        case bindFailed
        /// Active mode: the address and port the client named could not be connected to.
        case clientUnreachable
    }

    package var code: Code
    package var detail: String

    /// The splice data path has stopped its relay threads: nothing can be opened any more.
    static let stopped = DataPathError(code: .bindFailed, detail: "the data path has stopped")

    /// Operator words: `detail` already says what failed, in `OperatorText`'s terms.
    package var description: String {
        switch self.code {
        case .passivePortsExhausted: return self.detail
        case .bindFailed: return "cannot open a data listener: \(self.detail)"
        case .clientUnreachable: return "cannot connect to the client: \(self.detail)"
        }
    }
}
