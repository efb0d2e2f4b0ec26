import NIOCore

/// A data flow relayed on NIO channels by a pair of `DataRelayHandler`s: wires both halves,
/// starts the flow when both channels are connected and ends it when both have closed.
final class NIODataRelay {
    let flow: DataFlow
    private let clientHalf: DataRelayHandler
    private let serverHalf: DataRelayHandler
    private let idleTimeout: TimeAmount
    private let protection: DataProtection?
    private let serverProtection: ServerDataProtection?
    private weak var observer: (any DataFlowObserver)?

    init(
        mode: DataConnectionMode,
        idleTimeout: TimeAmount,
        observer: any DataFlowObserver,
        protection: DataProtection? = nil,
        serverProtection: ServerDataProtection? = nil
    ) {
        self.flow = DataFlow(mode: mode, observer: observer)
        self.idleTimeout = idleTimeout
        self.protection = protection
        self.serverProtection = serverProtection
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

    /// With `PROT P`, the client's half joins behind TLS once the handshake is judged.
    func addClientSide(to channel: Channel) throws {
        guard let protection = self.protection else { return try self.addHalf(self.clientHalf, to: channel) }
        guard let tls = protection.makeHandler() else {
            throw DataPathError(code: .bindFailed, detail: "the TLS library refused to bind the data connection to its session")
        }
        let (clientHalf, serverHalf, flow) = (self.clientHalf, self.serverHalf, self.flow)
        let handshake = ProtectedDataHandshake(
            tlsHandler: tls,
            sessionReuse: protection.sessionReuse,
            observer: self.observer,
            admit: { context, negotiation in
                flow.clientTLS = negotiation
                try context.pipeline.syncOperations.addHandler(clientHalf, position: .after(context.handler))
            },
            refuse: { channel in
                serverHalf.resetRelay()
                DataRelayHandler.reset(channel)
            }
        )
        try channel.pipeline.syncOperations.addHandlers([tls, IdleStateHandler(allTimeout: self.idleTimeout), handshake])
    }

    /// With `server_tls` and `PROT P`, the balancer is the TLS client of the server's data
    /// connection, offering the control connection's session; what the client sends meanwhile
    /// waits in the TLS handler until the handshake is done.
    func addServerSide(to channel: Channel) throws {
        guard let serverProtection = self.serverProtection else { return try self.addHalf(self.serverHalf, to: channel) }
        guard let tls = serverProtection.makeHandler() else {
            throw DataPathError(code: .bindFailed, detail: "the TLS library refused the server data connection's session")
        }
        try channel.pipeline.syncOperations.addHandlers([tls, ServerDataHandshakeWatch(tlsHandler: tls, observer: self.observer)])
        try self.addHalf(self.serverHalf, to: channel)
    }

    private func addHalf(_ half: DataRelayHandler, to channel: Channel) throws {
        // The half resets both connections on the idle event.
        let handlers: [ChannelHandler] = [IdleStateHandler(allTimeout: self.idleTimeout), half]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Both sides are connected and wired: report it, and report the end once both are closed.
    func start(clientSide: Channel, serverSide: Channel) {
        let transport = NIOChannelTransport(
            clientSide: clientSide,
            serverSide: serverSide,
            clientHalf: self.clientHalf,
            serverHalf: self.serverHalf
        )
        self.flow.begin(transport)
        EventLoopFuture.andAllComplete([clientSide.closeFuture, serverSide.closeFuture], on: clientSide.eventLoop)
            .assumeIsolated()
            .whenComplete { _ in
                self.flow.end()
            }
    }
}

/// The addresses of a relay's channels and its halves' byte counts, read on their event loop.
private final class NIOChannelTransport: DataFlowTransport {
    private let clientSide: Channel
    private let serverSide: Channel
    private let clientHalf: DataRelayHandler
    private let serverHalf: DataRelayHandler
    private let clientAcknowledged: AcknowledgedBytes
    private let serverAcknowledged: AcknowledgedBytes

    init(clientSide: Channel, serverSide: Channel, clientHalf: DataRelayHandler, serverHalf: DataRelayHandler) {
        self.clientSide = clientSide
        self.serverSide = serverSide
        self.clientHalf = clientHalf
        self.serverHalf = serverHalf
        self.clientAcknowledged = AcknowledgedBytes(AcknowledgedBytes.read(clientSide))
        self.serverAcknowledged = AcknowledgedBytes(AcknowledgedBytes.read(serverSide))
    }

    var clientAddress: String { self.clientSide.remoteAddress.logDescription }
    var clientSideLocalAddress: String { self.clientSide.localAddress.logDescription }
    var serverSideLocalAddress: String { self.serverSide.localAddress.logDescription }
    var serverAddress: String { self.serverSide.remoteAddress.logDescription }
    var bytesToClient: Int { self.serverHalf.bytesRead }
    var bytesToServer: Int { self.clientHalf.bytesRead }
    var bytesDeliveredToClient: Int {
        self.clientAcknowledged.delivered(self.bytesToClient, now: AcknowledgedBytes.read(self.clientSide))
    }
    var bytesDeliveredToServer: Int {
        self.serverAcknowledged.delivered(self.bytesToServer, now: AcknowledgedBytes.read(self.serverSide))
    }
}
