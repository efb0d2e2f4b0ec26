import FTPBalancerConfig
import NIOCore
import NIOSSL
import NIOTLS

/// How a protected data connection's TLS handshake was judged.
package enum ProtectedDataOutcome: Equatable, Sendable {
    /// Resumed a TLS session of the same FTP session.
    case resumed(TLSNegotiation)
    /// Not resumed, and `session_reuse` (`preferred` or `off`) let it go on.
    case notResumed(TLSNegotiation)
    /// Not resumed under `session_reuse: required`: both sides were reset.
    case refused(TLSNegotiation)
    /// The handshake failed, or the connection ended before it did.
    case failed(String)
}

/// The client side of a protected data connection, behind its TLS handler. The relay's half
/// joins the pipeline only once the handshake is judged, so no byte of the file reaches a
/// client that did not resume its session, and the server's data waits meanwhile.
final class ProtectedDataHandshake: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let tlsHandler: NIOSSLServerHandler
    private let sessionReuse: ClientTLSConfiguration.SessionReuse
    private weak var observer: (any DataFlowObserver)?
    /// Adds the relay's half after this handler.
    private let admit: (ChannelHandlerContext, TLSNegotiation) throws -> Void
    /// Resets both sides of the relay.
    private let refuse: (Channel) -> Void
    private var announced = false
    private var settled = false

    init(
        tlsHandler: NIOSSLServerHandler,
        sessionReuse: ClientTLSConfiguration.SessionReuse,
        observer: (any DataFlowObserver)?,
        admit: @escaping (ChannelHandlerContext, TLSNegotiation) throws -> Void,
        refuse: @escaping (Channel) -> Void
    ) {
        self.tlsHandler = tlsHandler
        self.sessionReuse = sessionReuse
        self.observer = observer
        self.admit = admit
        self.refuse = refuse
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.announce() }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.announce()
        context.fireChannelActive()
    }

    /// Once connected, the session holds the transfer's reply until the verdict.
    private func announce() {
        guard !self.announced else { return }
        self.announced = true
        self.observer?.protectedDataConnecting()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !self.settled {
            self.judge(context)
        } else if event is IdleStateHandler.IdleStateEvent, !self.settled {
            self.fail("no TLS handshake within the data idle timeout", context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !self.settled else { return context.fireErrorCaught(error) }
        self.fail(OperatorText.describe(error), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.settled, self.announced { self.settle(.failed("closed before its TLS handshake ended")) }
        context.fireChannelInactive()
    }

    private func judge(_ context: ChannelHandlerContext) {
        guard let negotiation = TLSNegotiation(self.tlsHandler) else {
            return self.fail("the TLS library's connection could not be read", context: context)
        }
        if !negotiation.resumed, self.sessionReuse == .required {
            self.settle(.refused(negotiation))
            self.refuse(context.channel)
            return
        }
        do {
            try self.admit(context, negotiation)
        } catch {
            return self.fail("cannot join the relay: \(OperatorText.describe(error))", context: context)
        }
        self.settle(negotiation.resumed ? .resumed(negotiation) : .notResumed(negotiation))
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        self.settle(.failed(reason))
        self.refuse(context.channel)
    }

    private func settle(_ outcome: ProtectedDataOutcome) {
        self.settled = true
        // A connection that never got as far as being announced has nothing held for it.
        if self.announced { self.observer?.protectedDataSettled(outcome) }
    }
}

@available(*, unavailable)
extension ProtectedDataHandshake: Sendable {}
