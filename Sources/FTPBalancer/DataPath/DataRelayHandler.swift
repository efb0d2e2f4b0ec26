import Glibc
import NIOCore

/// One half of a data-connection relay: what one channel reads, its partner writes.
///
/// After swift-nio-ssh's GlueHandler, with the fixes a file transfer needs:
/// - a half reads only while its partner is writable (backpressure: a slow reader holds the
///   writer to one read plus the partner's write-buffer high-water mark);
/// - an end of input is passed on as a half-close (`close(mode: .output)`), and when the partner
///   has already stopped reading, NIO would turn that into a full close that drops queued bytes,
///   so the half then waits for its writes to be flushed before closing fully;
/// - a half that fails, or a relay idle for its timeout, resets both connections (RST): a
///   transfer cut on one side must never look complete on the other;
/// - bytes are counted, for the session's report.
package final class DataRelayHandler {
    private var partner: DataRelayHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var inputClosed = false
    /// What the partner sent before this half's channel was connected (or even existed): on a
    /// channel still connecting, writes would fail and a half-close would abort the connect.
    private var heldWrites: [NIOAny] = []
    private var outputClosePending = false
    private var closePending = false

    /// The bytes this half has read, that is, sent towards its partner.
    package private(set) var bytesRead: Int = 0

    private init() {}

    /// Two halves wired to each other. A half does not read until its partner is in a pipeline.
    package static func matchedPair() -> (DataRelayHandler, DataRelayHandler) {
        let first = DataRelayHandler()
        let second = DataRelayHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    /// Whether this half can take the partner's bytes now: connected and under its high-water
    /// mark. Bytes written to a channel still connecting would be lost.
    private var readyForPartnerBytes: Bool {
        guard let channel = self.context?.channel else { return false }
        return channel.isActive && channel.isWritable
    }

    /// The context, once its channel is connected.
    private var activeContext: ChannelHandlerContext? {
        guard let context = self.context, context.channel.isActive else { return nil }
        return context
    }

    private func partnerWrite(_ data: NIOAny) {
        guard let context = self.activeContext else {
            // Only NIO's read-everything-on-EOF gets here: reads wait for this half otherwise.
            self.heldWrites.append(data)
            return
        }
        context.write(data, promise: nil)
    }

    private func partnerFlush() {
        self.activeContext?.flush()
    }

    private func partnerWriteEOF() {
        guard let context = self.activeContext else {
            // shutdown(SHUT_WR) on a socket still in SYN_SENT cancels the connect: an empty
            // upload would never reach the server.
            self.outputClosePending = true
            return
        }
        guard self.inputClosed else {
            context.close(mode: .output, promise: nil)
            return
        }
        // Both directions are done. A half-close now would be a full close that fails queued
        // writes, so close only once they have reached the socket.
        self.flushThenClose(context)
    }

    /// The partner is gone; what it read before going still goes out, then this half closes.
    private func partnerClosed() {
        guard let context = self.activeContext else {
            self.closePending = true
            return
        }
        self.flushThenClose(context)
    }

    /// This half's channel is connected: deliver what the partner sent meanwhile, in order.
    private func becameActive(_ context: ChannelHandlerContext) {
        if !self.heldWrites.isEmpty {
            for data in self.heldWrites { context.write(data, promise: nil) }
            self.heldWrites = []
            context.flush()
        }
        if self.closePending {
            self.closePending = false
            self.flushThenClose(context)
        } else if self.outputClosePending {
            self.outputClosePending = false
            self.partnerWriteEOF()
        }
        self.partner?.partnerBecameReady()
    }

    private func flushThenClose(_ context: ChannelHandlerContext) {
        // Writes complete in order, so this empty write completes after every queued byte.
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(ByteBuffer()), promise: flushed)
        flushed.futureResult.assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Closes this half's connection with RST.
    private func reset() {
        guard let channel = self.context?.channel else { return }
        Self.reset(channel)
    }

    /// Closes `channel` with RST: a cut transfer must never look complete.
    package static func reset(_ channel: Channel) {
        // On the channel's event loop the option is set at once, before the close.
        (channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in }
        channel.close(promise: nil)
    }

    /// Resets both connections of the relay, as a failure of this half would.
    package func resetRelay() {
        self.partner?.reset()
        self.reset()
    }

    /// The partner may now take bytes: do the read that was held back, if it can.
    private func partnerBecameReady() {
        guard self.pendingRead, let partner = self.partner, partner.readyForPartnerBytes else { return }
        self.pendingRead = false
        self.context?.read()
    }
}

extension DataRelayHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.becameActive(context)
        }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        self.becameActive(context)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.bytesRead += self.unwrapInboundIn(data).readableBytes
        self.partner?.partnerWrite(data)
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.partnerFlush()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.partner?.partnerClosed()
        context.fireChannelInactive()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            self.inputClosed = true
            self.partner?.partnerWriteEOF()
        }
        if event is IdleStateHandler.IdleStateEvent {
            self.partner?.reset()
            self.reset()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func errorCaught(context: ChannelHandlerContext, error: Error) {
        self.partner?.reset()
        self.reset()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.partner?.partnerBecameReady()
        }
        context.fireChannelWritabilityChanged()
    }

    package func read(context: ChannelHandlerContext) {
        if let partner = self.partner, partner.readyForPartnerBytes {
            context.read()
        } else {
            self.pendingRead = true
        }
    }
}

@available(*, unavailable)
extension DataRelayHandler: Sendable {}
