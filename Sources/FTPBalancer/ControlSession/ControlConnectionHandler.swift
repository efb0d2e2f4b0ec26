import FTPProtocol
import NIOCore

/// One side of a control session, client or server: hands lines and events to the session,
/// and reads only while the session can take more (the other side keeps up, and nothing is
/// waiting for a data listener).
final class ControlConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ControlLine
    typealias OutboundIn = ByteBuffer

    enum Side: String {
        case client, server
    }

    private let session: ControlSession
    private let side: Side
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    init(session: ControlSession, side: Side) {
        self.session = session
        self.side = side
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The session can take input again: do the read that was held back.
    func resumeReading() {
        if self.pendingRead, let context = self.context {
            self.pendingRead = false
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = self.unwrapInboundIn(data)
        switch self.side {
        case .client: self.session.clientLine(line)
        case .server: self.session.serverLine(line, from: context.channel)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.session.readComplete(from: self.side)
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch self.side {
        case .client: self.session.clientClosed()
        case .server: self.session.serverClosed(context.channel)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.session.writabilityChanged(on: self.side)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.session.controlConnectionError(error, side: self.side)
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if self.session.acceptsInput(from: self.side) {
            context.read()
        } else {
            self.pendingRead = true
        }
    }
}

@available(*, unavailable)
extension ControlConnectionHandler: Sendable {}
