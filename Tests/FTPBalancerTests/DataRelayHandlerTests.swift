import FTPBalancer
import NIOCore
import NIOEmbedded
import Testing

/// Two embedded channels, the client side and the server side of a data connection, joined by
/// a `DataRelayHandler` pair, with an `OutboundRecorder` between each channel and its half.
private struct RelayPair {
    let clientChannel: EmbeddedChannel
    let serverChannel: EmbeddedChannel
    let clientHalf: DataRelayHandler
    let serverHalf: DataRelayHandler
    let clientRecorder = OutboundRecorder()
    let serverRecorder = OutboundRecorder()

    /// Both channels connected, unless `connectServerSide` is false.
    init(connectServerSide: Bool = true) throws {
        let loop = EmbeddedEventLoop()
        (self.clientHalf, self.serverHalf) = DataRelayHandler.matchedPair()
        self.clientChannel = EmbeddedChannel(handlers: [self.clientRecorder, self.clientHalf], loop: loop)
        self.serverChannel = EmbeddedChannel(handlers: [self.serverRecorder, self.serverHalf], loop: loop)
        try self.clientChannel.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 50000)).wait()
        if connectServerSide {
            try self.serverChannel.connect(to: SocketAddress(ipAddress: "192.0.2.20", port: 50001)).wait()
        }
    }

    /// Runs the tasks a close leaves behind (handler removal, close futures).
    func run() {
        self.clientChannel.embeddedEventLoop.run()
    }
}

private struct InjectedError: Error {}

private func bytes(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

@Suite struct DataRelayHandlerTests {
    // MARK: Relaying

    @Test func bytesReadOnTheClientSideComeOutOfTheServerSideUnchangedAndInOrder() throws {
        let pair = try RelayPair()
        let chunks = [testPattern(count: 1000), bytes("second"), testPattern(count: 3)]
        for chunk in chunks {
            try pair.clientChannel.writeInbound(chunk)
        }
        for chunk in chunks {
            #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == chunk)
        }
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pair.clientChannel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func bytesReadOnTheServerSideComeOutOfTheClientSideUnchangedAndInOrder() throws {
        let pair = try RelayPair()
        let chunks = [bytes("first"), testPattern(count: 4096), bytes("last")]
        for chunk in chunks {
            try pair.serverChannel.writeInbound(chunk)
        }
        for chunk in chunks {
            #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == chunk)
        }
        #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(try pair.serverChannel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test func bytesInterleavedInBothDirectionsEachKeepTheirOrder() throws {
        let pair = try RelayPair()
        try pair.clientChannel.writeInbound(bytes("c1"))
        try pair.serverChannel.writeInbound(bytes("s1"))
        try pair.clientChannel.writeInbound(bytes("c2"))
        try pair.serverChannel.writeInbound(bytes("s2"))
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("c1"))
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("c2"))
        #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == bytes("s1"))
        #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == bytes("s2"))
    }

    @Test func eachHalfCountsTheBytesItHasRead() throws {
        let pair = try RelayPair()
        #expect(pair.clientHalf.bytesRead == 0)
        try pair.clientChannel.writeInbound(testPattern(count: 1000))
        try pair.clientChannel.writeInbound(testPattern(count: 24))
        try pair.serverChannel.writeInbound(testPattern(count: 7))
        try pair.serverChannel.writeInbound(ByteBuffer())
        #expect(pair.clientHalf.bytesRead == 1024)
        #expect(pair.serverHalf.bytesRead == 7)
    }

    @Test func eachReadIsFlushedAtTheEndOfTheReadBurst() throws {
        let pair = try RelayPair()
        pair.clientChannel.pipeline.fireChannelRead(bytes("a"))
        pair.clientChannel.pipeline.fireChannelRead(bytes("b"))
        #expect(pair.serverRecorder.events == [.write(bytes("a")), .write(bytes("b"))])
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == nil)
        pair.clientChannel.pipeline.fireChannelReadComplete()
        #expect(pair.serverRecorder.events.last == .flush)
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("a"))
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("b"))
    }

    // MARK: Backpressure

    @Test func aHalfPassesAReadOnWhileItsPartnerIsWritable() throws {
        let pair = try RelayPair()
        pair.clientChannel.read()
        pair.serverChannel.read()
        #expect(pair.clientRecorder.reads == 1)
        #expect(pair.serverRecorder.reads == 1)
    }

    @Test func aHalfHoldsBackAReadWhileItsPartnerIsNotWritable() throws {
        let pair = try RelayPair()
        pair.serverChannel.isWritable = false
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        pair.clientChannel.read()
        pair.clientChannel.read()
        #expect(pair.clientRecorder.reads == 0)
        // The other direction is not held back.
        pair.serverChannel.read()
        #expect(pair.serverRecorder.reads == 1)
    }

    @Test func aHeldBackReadIsPassedOnOnceWhenThePartnerBecomesWritableAgain() throws {
        let pair = try RelayPair()
        pair.serverChannel.isWritable = false
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        pair.clientChannel.read()
        pair.clientChannel.read()

        pair.serverChannel.isWritable = true
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientRecorder.reads == 1)

        // Nothing was pending any more.
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientRecorder.reads == 1)
    }

    @Test func aWritabilityChangeThatLeavesThePartnerUnwritableDoesNotResumeReading() throws {
        let pair = try RelayPair()
        pair.serverChannel.isWritable = false
        pair.clientChannel.read()
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientRecorder.reads == 0)
    }

    @Test func aHalfThatBecomesWritableDoesNotMakeItselfRead() throws {
        let pair = try RelayPair()
        pair.serverChannel.isWritable = false
        pair.clientChannel.read()
        // The client side's own writability says nothing about where its bytes go.
        pair.clientChannel.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientRecorder.reads == 0)
    }

    @Test func aHalfDoesNotReadUntilItsPartnerHasBeenAddedToAPipeline() throws {
        let loop = EmbeddedEventLoop()
        let (clientHalf, serverHalf) = DataRelayHandler.matchedPair()
        let clientRecorder = OutboundRecorder()
        let clientChannel = EmbeddedChannel(handlers: [clientRecorder, clientHalf], loop: loop)
        try clientChannel.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 50000)).wait()
        clientChannel.read()
        #expect(clientRecorder.reads == 0)

        let serverChannel = EmbeddedChannel(loop: loop)
        try serverChannel.pipeline.syncOperations.addHandler(serverHalf)
        try serverChannel.connect(to: SocketAddress(ipAddress: "192.0.2.20", port: 50001)).wait()
        #expect(clientRecorder.reads == 1)
    }

    @Test func aHalfDoesNotReadWhileItsPartnersChannelIsStillConnecting() throws {
        let pair = try RelayPair(connectServerSide: false)
        pair.clientChannel.read()
        // A channel that is still connecting reports itself writable.
        pair.serverChannel.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientRecorder.reads == 0)
    }

    @Test func aReadHeldBackWhileThePartnerConnectsIsPassedOnOnceThePartnerIsActive() throws {
        let pair = try RelayPair(connectServerSide: false)
        pair.clientChannel.read()
        try pair.serverChannel.connect(to: SocketAddress(ipAddress: "192.0.2.20", port: 50001)).wait()
        #expect(pair.clientRecorder.reads == 1)
    }

    // MARK: End of input and closing

    @Test func anEndOfInputOnOneSideHalfClosesTheOtherSidesOutput() throws {
        let pair = try RelayPair()
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.serverRecorder.closeModes == [.output])
        #expect(pair.serverChannel.isActive)
        #expect(pair.clientRecorder.closeModes == [])
        #expect(pair.clientChannel.isActive)
    }

    @Test func anEndOfInputOnTheServerSideHalfClosesTheClientSidesOutput() throws {
        let pair = try RelayPair()
        pair.serverChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.clientRecorder.closeModes == [.output])
        #expect(pair.serverRecorder.closeModes == [])
    }

    @Test func theEndOfInputEventStillReachesLaterHandlers() throws {
        let pair = try RelayPair()
        let seen = InboundEventCatcher()
        try pair.clientChannel.pipeline.syncOperations.addHandler(seen)
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(seen.events == [.inputClosed])
    }

    /// NIO delivers an end of input (`EPOLLRDHUP`) whether or not a read was asked for, so the
    /// read gate does not hold it back. A half-close of a socket that is still connecting is a
    /// `shutdown(SHUT_WR)` in SYN_SENT, which Linux turns into an abort of the connect.
    @Test func anEndOfInputWhileThePartnerIsStillConnectingHalfClosesThePartnerOnlyOnceItIsActive() throws {
        let pair = try RelayPair(connectServerSide: false)
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.serverRecorder.closeModes == [])
        try pair.serverChannel.connect(to: SocketAddress(ipAddress: "192.0.2.20", port: 50001)).wait()
        #expect(pair.serverRecorder.closeModes == [.output])
    }

    @Test func bytesQueuedBeforeAnEndOfInputAreWrittenBeforeTheHalfClose() throws {
        let pair = try RelayPair()
        try pair.clientChannel.writeInbound(bytes("last bytes"))
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.serverRecorder.events == [.write(bytes("last bytes")), .flush, .close(.output)])
    }

    @Test func aSideWhoseInputHasEndedFlushesItsQueuedBytesThenClosesFullyWhenThePartnersInputEnds() throws {
        let pair = try RelayPair()
        // The server finished sending first: the client side's output is half-closed.
        pair.serverChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.clientRecorder.closeModes == [.output])

        // The client's last bytes are still queued on the server side when its input ends.
        pair.serverRecorder.holdWrites()
        try pair.clientChannel.writeInbound(bytes("tail of the upload"))
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(pair.serverRecorder.closeModes == [])
        #expect(pair.serverChannel.isActive)

        pair.serverRecorder.releaseWrites()
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("tail of the upload"))
        #expect(pair.serverRecorder.closeModes.first == .all)
        let written = try #require(pair.serverRecorder.events.firstIndex(of: .write(bytes("tail of the upload"))))
        let closed = try #require(pair.serverRecorder.events.firstIndex(of: .close(.all)))
        #expect(written < closed)
        #expect(!pair.serverChannel.isActive)
    }

    @Test func whenBothInputsHaveEndedBothSidesEndUpClosed() throws {
        let pair = try RelayPair()
        pair.serverChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        pair.clientChannel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        pair.run()
        // A half may be asked to close again when its partner's close comes back to it.
        #expect(pair.serverRecorder.closeModes.first == .all)
        #expect(!pair.serverRecorder.closeModes.contains(.output))
        #expect(pair.clientRecorder.closeModes.prefix(2) == [.output, .all])
        #expect(!pair.serverChannel.isActive)
        #expect(!pair.clientChannel.isActive)
    }

    @Test func aSideThatGoesInactiveMakesTheOtherSideCloseAfterItsQueuedBytesAreFlushed() throws {
        let pair = try RelayPair()
        pair.serverRecorder.holdWrites()
        try pair.clientChannel.writeInbound(bytes("read before the close"))
        try pair.clientChannel.close().wait()
        #expect(pair.serverRecorder.closeModes == [])
        #expect(pair.serverChannel.isActive)

        pair.serverRecorder.releaseWrites()
        #expect(try pair.serverChannel.readOutbound(as: ByteBuffer.self) == bytes("read before the close"))
        #expect(pair.serverRecorder.closeModes.first == .all)
        let written = try #require(pair.serverRecorder.events.firstIndex(of: .write(bytes("read before the close"))))
        let closed = try #require(pair.serverRecorder.events.firstIndex(of: .close(.all)))
        #expect(written < closed)
        #expect(!pair.serverChannel.isActive)
    }

    @Test func theServerSideGoingInactiveClosesTheClientSide() throws {
        let pair = try RelayPair()
        try pair.serverChannel.writeInbound(bytes("download"))
        try pair.serverChannel.close().wait()
        pair.run()
        #expect(try pair.clientChannel.readOutbound(as: ByteBuffer.self) == bytes("download"))
        #expect(pair.clientRecorder.closeModes.first == .all)
        #expect(!pair.clientChannel.isActive)
    }

    @Test func anErrorOnOneSideClosesBothSides() throws {
        let pair = try RelayPair()
        pair.clientChannel.pipeline.fireErrorCaught(InjectedError())
        pair.run()
        #expect(pair.clientRecorder.closeModes.first == .all)
        #expect(pair.serverRecorder.closeModes.first == .all)
        #expect(!pair.clientChannel.isActive)
        #expect(!pair.serverChannel.isActive)
    }
}

/// Records the inbound user events that get past the handler under test.
private final class InboundEventCatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private(set) var events: [ChannelEvent] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent {
            self.events.append(event)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension InboundEventCatcher: Sendable {}
