import FTPProtocol
import NIOCore

/// The client side of a control session: hands lines to the session and reads only while the
/// session can take more (the server is connected and keeping up).
final class ClientControlHandler: ChannelDuplexHandler {
    typealias InboundIn = ControlLine
    typealias OutboundIn = ByteBuffer

    private let session: ControlSession
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    init(session: ControlSession) {
        self.session = session
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The session can take input again.
    func resumeReading() {
        if self.pendingRead, let context = self.context {
            self.pendingRead = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.session.clientLine(self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.session.clientReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.session.clientClosed()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.session.clientWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.session.controlConnectionError(error, side: "client")
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.session.acceptsClientInput {
            context.read()
        } else {
            self.pendingRead = true
        }
    }
}

/// The server side of a control session: hands reply lines to the session and reads only while
/// the client keeps up.
final class ServerControlHandler: ChannelDuplexHandler {
    typealias InboundIn = ControlLine
    typealias OutboundIn = ByteBuffer

    private let session: ControlSession
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    init(session: ControlSession) {
        self.session = session
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func resumeReading() {
        if self.pendingRead, let context = self.context {
            self.pendingRead = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.session.serverLine(self.unwrapInboundIn(data), from: context.channel)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.session.serverReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.session.serverClosed(context.channel)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.session.serverWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.session.controlConnectionError(error, side: "server")
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.session.acceptsServerInput {
            context.read()
        } else {
            self.pendingRead = true
        }
    }
}

@available(*, unavailable)
extension ClientControlHandler: Sendable {}

@available(*, unavailable)
extension ServerControlHandler: Sendable {}
