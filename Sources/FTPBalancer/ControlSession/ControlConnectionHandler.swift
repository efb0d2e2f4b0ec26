import FTPProtocol
import NIOCore

/// One side of a control session, client or server: splits what it reads into lines, hands
/// lines and events to the session, and reads only while the session can take more (the other
/// side keeps up, and nothing is waiting for a data listener).
///
/// It decodes lines itself rather than behind a `ByteToMessageHandler`: that saves a pipeline
/// step and a boxed `ControlLine` per line, on the path every command and reply takes.
final class ControlConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    enum Side: String {
        case client, server
    }

    private let session: ControlSession
    private let side: Side
    private var decoder: ControlLineDecoder
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    /// `maximumLineLength`: longer lines reach the session cut, as `ControlLine.overlong`.
    init(session: ControlSession, side: Side, maximumLineLength: Int) {
        self.session = session
        self.side = side
        self.decoder = ControlLineDecoder(maximumLineLength: maximumLineLength)
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

    /// Every complete line in the read goes to the session, in order; the session queues
    /// those it cannot act on yet. A partial line stays in the decoder until the rest arrives.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        while let line = self.decoder.decode(buffer: &buffer) {
            switch self.side {
            case .client: self.session.clientLine(line)
            case .server: self.session.serverLine(line, from: context.channel)
            }
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
