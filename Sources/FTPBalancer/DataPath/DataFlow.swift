import NIOCore

/// One data connection through the balancer: the relay between its client-side and server-side
/// channels, and the report when both have closed.
package final class DataFlow {
    package let mode: DataConnectionMode
    private let clientHalf: DataRelayHandler
    private let serverHalf: DataRelayHandler
    private let idleTimeout: TimeAmount
    private weak var observer: (any DataFlowObserver)?
    private var started: NIODeadline?
    private var clientSide: Channel?
    private var serverSide: Channel?

    init(mode: DataConnectionMode, idleTimeout: TimeAmount, observer: any DataFlowObserver) {
        self.mode = mode
        self.idleTimeout = idleTimeout
        self.observer = observer
        (self.clientHalf, self.serverHalf) = DataRelayHandler.matchedPair()
    }

    /// Options every data channel needs: half-closure passed on, and reads large enough for
    /// bulk transfer while the buffering per connection stays bounded.
    static func configure<Bootstrap: NIOClientTCPBootstrapProtocol>(_ bootstrap: Bootstrap) -> Bootstrap {
        bootstrap
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.recvAllocator, value: Self.receiveAllocator)
            .channelOption(.writeBufferWaterMark, value: Self.waterMark)
    }

    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 4096, initial: 65536, maximum: 262_144)
    static let waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 65536, high: 262_144)

    func addClientSide(to channel: Channel) throws {
        try self.addHalf(self.clientHalf, to: channel)
    }

    func addServerSide(to channel: Channel) throws {
        try self.addHalf(self.serverHalf, to: channel)
    }

    private func addHalf(_ half: DataRelayHandler, to channel: Channel) throws {
        let handlers: [ChannelHandler] = [
            IdleStateHandler(allTimeout: self.idleTimeout), DataIdleCloser(), half,
        ]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Both sides are connected and wired: report it, and report the end once both are closed.
    func start(clientSide: Channel, serverSide: Channel) {
        let started = NIODeadline.now()
        self.started = started
        self.clientSide = clientSide
        self.serverSide = serverSide
        self.observer?.dataFlowStarted(self)
        let eventLoop = clientSide.eventLoop
        EventLoopFuture.andAllComplete([clientSide.closeFuture, serverSide.closeFuture], on: eventLoop)
            .assumeIsolated()
            .whenComplete { _ in
                self.clientSide = nil
                self.serverSide = nil
                self.observer?.dataFlowEnded(
                    self,
                    report: DataFlowReport(
                        mode: self.mode,
                        bytesToClient: self.serverHalf.bytesRead,
                        bytesToServer: self.clientHalf.bytesRead,
                        duration: NIODeadline.now() - started
                    )
                )
            }
    }
}

extension DataFlow {
    /// Both connections' addresses and the bytes moved so far, read on the flow's event loop
    /// from the relay's own counters: nothing is added to the data path for it.
    func snapshot(session: Int, service: String, now: NIODeadline) -> DataFlowSnapshot {
        DataFlowSnapshot(
            session: session,
            service: service,
            mode: self.mode,
            client: self.clientSide?.remoteAddress.logDescription ?? "-",
            clientSideLocal: self.clientSide?.localAddress.logDescription ?? "-",
            serverSideLocal: self.serverSide?.localAddress.logDescription ?? "-",
            server: self.serverSide?.remoteAddress.logDescription ?? "-",
            bytesToClient: self.serverHalf.bytesRead,
            bytesToServer: self.clientHalf.bytesRead,
            age: now - (self.started ?? now)
        )
    }
}

/// Closes a data channel on which nothing has moved for the idle timeout.
private final class DataIdleCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
