import FTPProtocol
import NIOCore
import NIOSSL
import NIOTLS

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
    /// After a client's AUTH, until the session says whether TLS begins: what the client sent
    /// after it may be its TLS ClientHello, so it is held, not read as lines (RFC 4217 §4).
    private var afterAUTH = AfterAUTH.reading
    /// Lines are being handed to the session from within a read.
    private var decoding = false

    private enum AfterAUTH {
        case reading
        case holding(ByteBuffer)
        /// TLS was started from within the read that brought the AUTH.
        case starting(NIOSSLServerHandler)
    }

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
        if case .holding(var held) = self.afterAUTH {
            held.writeBuffer(&buffer)
            self.afterAUTH = .holding(held)
            return
        }
        self.decodeLines(&buffer, context: context)
    }

    private func decodeLines(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        self.decoding = true
        defer { self.decoding = false }
        while let line = self.decoder.decode(buffer: &buffer) {
            switch self.side {
            case .client:
                // Set before the session sees the line: it may answer, and start TLS, at once.
                if Self.isAUTH(line) { self.afterAUTH = .holding(ByteBuffer()) }
                self.session.clientLine(line)
            case .server:
                self.session.serverLine(line, from: context.channel)
            }
            switch self.afterAUTH {
            case .reading:
                continue
            case .holding(var held):
                held.writeBuffer(&buffer)
                self.afterAUTH = .holding(held)
            case .starting(let tls):
                self.decoding = false
                self.install(tls, replaying: buffer, context: context)
            }
            return
        }
    }

    /// The verb as `FTPCommand` reads it (its leading letters) is AUTH.
    private static func isAUTH(_ line: ControlLine) -> Bool {
        guard case .line(let bytes) = line else { return false }
        let letters = bytes.readableBytesView.prefix { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }
        return letters.count == 4 && letters.elementsEqual("AUTH".utf8) { $0 & 0xDF == $1 }
    }

    /// The session sent its 234: TLS begins with what the client sent after AUTH.
    func startTLS(_ tls: NIOSSLServerHandler) {
        guard case .holding(let held) = self.afterAUTH, let context = self.context else { return }
        if self.decoding {
            self.afterAUTH = .starting(tls)
        } else {
            self.install(tls, replaying: held, context: context)
        }
    }

    /// AUTH was answered without TLS: what the client sent after it is lines again.
    func resumeLines() {
        guard case .holding(var held) = self.afterAUTH, let context = self.context else { return }
        self.afterAUTH = .reading
        guard !self.decoding, held.readableBytes > 0 else { return }
        self.decodeLines(&held, context: context)
        self.session.readComplete(from: self.side)
    }

    /// `server_tls`: the server's 234 is in; the balancer's TLS handshake as its client begins.
    func startClientTLS(_ tls: NIOSSLClientHandler) throws {
        guard let context = self.context else { throw ChannelError.ioOnClosedChannel }
        try context.pipeline.syncOperations.addHandler(tls, position: .before(self))
    }

    private func install(_ tls: NIOSSLServerHandler, replaying held: ByteBuffer, context: ChannelHandlerContext) {
        self.afterAUTH = .reading
        do {
            try context.pipeline.syncOperations.addHandler(tls, position: .before(self))
        } catch {
            self.session.controlConnectionError(error, side: self.side)
            context.close(promise: nil)
            return
        }
        // Into the TLS handler, which now sits before this one. It hands on what it decrypted
        // when the read completes, and TLS may start long after the read that brought the bytes.
        if held.readableBytes > 0 {
            context.pipeline.fireChannelRead(NIOAny(held))
            context.pipeline.fireChannelReadComplete()
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

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            switch self.side {
            case .client: self.session.clientTLSEstablished()
            case .server: self.session.serverTLSEstablished()
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if case .holding = self.afterAUTH {
            // Nothing more until the session has answered the AUTH.
            self.pendingRead = true
        } else if self.session.acceptsInput(from: self.side) {
            context.read()
        } else {
            self.pendingRead = true
        }
    }
}

@available(*, unavailable)
extension ControlConnectionHandler: Sendable {}
