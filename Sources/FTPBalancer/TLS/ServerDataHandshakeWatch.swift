import NIOCore
import NIOSSL
import NIOTLS

/// Tells the session how a `PROT P` data connection's handshake with the server went: whether
/// it resumed the control connection's session, or why it failed. Watches only; the bytes
/// wait in the TLS handler until the handshake is done.
final class ServerDataHandshakeWatch: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let tlsHandler: NIOSSLClientHandler
    private weak var observer: (any DataFlowObserver)?
    private var settled = false

    init(tlsHandler: NIOSSLClientHandler, observer: (any DataFlowObserver)?) {
        self.tlsHandler = tlsHandler
        self.observer = observer
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !self.settled {
            self.settled = true
            self.observer?.serverDataTLSSettled(TLSNegotiation(self.tlsHandler).map { .established($0) } ?? .failed("unreadable"))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !self.settled {
            self.settled = true
            self.observer?.serverDataTLSSettled(.failed(OperatorText.describe(error)))
        }
        context.fireErrorCaught(error)
    }
}

/// How a data connection's TLS handshake with the server ended.
package enum ServerDataTLSOutcome: Equatable, Sendable {
    case established(TLSNegotiation)
    case failed(String)
}

@available(*, unavailable)
extension ServerDataHandshakeWatch: Sendable {}
