import NIOCore

/// Sits between a channel and the handler under test and records the outbound events that
/// reach it. It can hold writes back, as a full socket send buffer would, and it keeps a
/// half-close from reaching `EmbeddedChannel`, which would turn it into a full close.
final class OutboundRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    enum Event: Equatable {
        case read
        /// A write on its way to the channel. Empty writes, which only mark a point in the
        /// order of writes, are not recorded.
        case write(ByteBuffer)
        case flush
        case close(CloseMode)
    }

    private(set) var events: [Event] = []
    private var context: ChannelHandlerContext?
    private var holding = false
    private var heldWrites: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var heldFlush = false

    var reads: Int {
        self.events.filter { $0 == .read }.count
    }

    var closeModes: [CloseMode] {
        self.events.compactMap { event in
            if case .close(let mode) = event { return mode }
            return nil
        }
    }

    /// Writes and flushes from now on wait here until `releaseWrites()`.
    func holdWrites() {
        self.holding = true
    }

    /// Passes the held writes on, in order, then the held flush, which completes them.
    func releaseWrites() {
        self.holding = false
        guard let context = self.context else { return }
        let writes = self.heldWrites
        self.heldWrites = []
        for (data, promise) in writes {
            self.pass(data, promise: promise, context: context)
        }
        if self.heldFlush {
            self.heldFlush = false
            self.events.append(.flush)
            context.flush()
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func read(context: ChannelHandlerContext) {
        self.events.append(.read)
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if self.holding {
            self.heldWrites.append((data, promise))
        } else {
            self.pass(data, promise: promise, context: context)
        }
    }

    func flush(context: ChannelHandlerContext) {
        if self.holding {
            self.heldFlush = true
        } else {
            self.events.append(.flush)
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        self.events.append(.close(mode))
        guard mode != .output else {
            // A socket would shut its output down and stay open; so does this channel.
            promise?.succeed(())
            return
        }
        context.close(mode: mode, promise: promise)
    }

    private func pass(_ data: NIOAny, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let buffer = self.unwrapOutboundIn(data)
        if buffer.readableBytes > 0 {
            self.events.append(.write(buffer))
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension OutboundRecorder: Sendable {}
