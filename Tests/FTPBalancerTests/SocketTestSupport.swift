import Logging
import NIOCore
import NIOPosix

@testable import FTPBalancer

/// What one connection received before it closed.
struct ReceivedBytes: Sendable {
    var peerHost: String
    var bytes: ByteBuffer
}

/// Keeps what its channel reads and reports it once the channel closes. With a payload, it first
/// sends the payload and closes, as an FTP server sending a file does.
final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let payload: ByteBuffer?
    private let report: AsyncStream<ReceivedBytes>.Continuation
    private var received = ByteBuffer()
    private var peerHost = "?"
    private var reported = false

    init(payload: ByteBuffer? = nil, report: AsyncStream<ReceivedBytes>.Continuation) {
        self.payload = payload
        self.report = report
    }

    func channelActive(context: ChannelHandlerContext) {
        self.peerHost = context.channel.remoteAddress?.ipAddress ?? "?"
        if let payload = self.payload {
            context.writeAndFlush(self.wrapOutboundOut(payload)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        self.received.writeBuffer(&buffer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func finish() {
        guard !self.reported else { return }
        self.reported = true
        self.report.yield(ReceivedBytes(peerHost: self.peerHost, bytes: self.received))
    }
}

@available(*, unavailable)
extension CollectingHandler: Sendable {}

/// A TCP server on 127.0.0.1 standing in for an FTP server's data port.
struct TestDataServer {
    let channel: Channel
    /// What each connection received, reported as it closes.
    let connections: AsyncStream<ReceivedBytes>

    var address: SocketAddress {
        self.channel.localAddress!
    }

    /// With `accepting` false the server leaves connections in its accept queue (of `backlog`)
    /// until its channel's `autoRead` is set.
    static func start(
        on eventLoop: any EventLoop,
        host: String = "127.0.0.1",
        payload: ByteBuffer? = nil,
        backlog: Int32 = 16,
        accepting: Bool = true
    ) async throws -> TestDataServer {
        let (connections, report) = AsyncStream.makeStream(of: ReceivedBytes.self)
        let channel = try await ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.autoRead, value: accepting)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(payload: payload, report: report))
                }
            }
            .bind(host: host, port: 0)
            .get()
        return TestDataServer(channel: channel, connections: connections)
    }
}

/// A data connection from a test client to the balancer.
struct TestDataClient {
    let channel: Channel
    /// What the client received, reported once its connection has closed.
    let received: AsyncStream<ReceivedBytes>

    /// With a payload, the connection sends it and closes, as a server sending a file does.
    static func connect(
        to port: Int,
        at host: String = "127.0.0.1",
        from sourceHost: String = "127.0.0.1",
        payload: ByteBuffer? = nil,
        on eventLoop: any EventLoop
    ) async throws -> TestDataClient {
        let (received, report) = AsyncStream.makeStream(of: ReceivedBytes.self)
        let channel = try await ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(5))
            .bind(to: SocketAddress(ipAddress: sourceHost, port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(payload: payload, report: report))
                }
            }
            .connect(host: host, port: port)
            .get()
        return TestDataClient(channel: channel, received: received)
    }
}

/// Records what the data path reports about its data connections.
final class RecordingDataFlowObserver: DataFlowObserver, Sendable {
    enum Event: Sendable {
        case started(DataConnectionMode)
        case ended(DataFlowReport)
    }

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation

    init() {
        (self.events, self.continuation) = AsyncStream.makeStream(of: Event.self)
    }

    func dataFlowStarted(_ flow: DataFlow) {
        self.continuation.yield(.started(flow.mode))
    }

    func dataFlowEnded(_ flow: DataFlow, report: DataFlowReport) {
        self.continuation.yield(.ended(report))
    }

    /// Ends `events`, so that what is left can be read to the end.
    func finish() {
        self.continuation.finish()
    }
}

/// Runs `body` with one event loop of its own, shut down afterwards whatever happens.
func withEventLoop(_ body: (any EventLoop) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        try await body(group.next())
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
    try await group.shutdownGracefully()
}

/// The first `count` elements of `stream`; fewer if it ends first, nil if they do not come within
/// `timeout`.
func first<Element: Sendable>(
    _ count: Int,
    of stream: AsyncStream<Element>,
    within timeout: Duration = .seconds(10)
) async -> [Element]? {
    await withTaskGroup(of: [Element]?.self) { group in
        group.addTask {
            var elements: [Element] = []
            for await element in stream {
                elements.append(element)
                if elements.count == count { break }
            }
            return elements
        }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let result = await group.next() ?? nil
        group.cancelAll()
        return result
    }
}

/// Everything `stream` still holds; call only after it has been finished.
func remaining<Element: Sendable>(of stream: AsyncStream<Element>) async -> [Element] {
    var elements: [Element] = []
    for await element in stream {
        elements.append(element)
    }
    return elements
}

/// Opens a passive listener on 127.0.0.1 for a client at 127.0.0.1, relaying to `server`.
func openPassive(
    on eventLoop: any EventLoop,
    ports: PassivePortAllocator,
    server: SocketAddress,
    observer: RecordingDataFlowObserver,
    acceptTimeout: TimeAmount = .seconds(10),
    connectTimeout: TimeAmount = .seconds(5)
) async throws -> Int {
    let serverSideSource = try SocketAddress(ipAddress: "127.0.0.1", port: 0)
    return try await eventLoop.flatSubmit {
        let request = PassiveDataRequest(
            mode: .pasv,
            listenHost: "127.0.0.1",
            ports: ports,
            clientHost: "127.0.0.1",
            server: server,
            serverSideSource: serverSideSource,
            transparent: false,
            acceptTimeout: acceptTimeout,
            connectTimeout: connectTimeout,
            idleTimeout: .seconds(30)
        )
        let logger = Logger(label: "ftp.test", factory: { _ in SwiftLogNoOpLogHandler() })
        return NIODataPath().openPassive(request, on: eventLoop, observer: observer, logger: logger)
            .assumeIsolated()
            .map { $0.port }
            .nonisolated()
    }.get()
}

/// Whether addresses of 127/8 other than 127.0.0.1 can be bound without setup, as on Linux.
let otherLoopbackAddressesWork: Bool = {
    #if os(Linux)
    return true
    #else
    return false
    #endif
}()

/// Every byte value, many times over and not periodically aligned, so that a dropped, repeated
/// or moved chunk shows.
func testPattern(count: Int) -> ByteBuffer {
    ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 7) ^ ($0 >> 8) ^ ($0 >> 16)) })
}
