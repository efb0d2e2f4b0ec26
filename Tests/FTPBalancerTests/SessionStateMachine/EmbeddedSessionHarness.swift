import FTPBalancerConfig
import Logging
import NIOCore
import NIOEmbedded

@testable import FTPBalancer

/// A whole control session on `EmbeddedChannel`s: the client's connection, the server's (made by
/// `EmbeddedServerConnector`), and a data path that opens no socket (`InMemoryDataPath`).
final class EmbeddedSessionHarness {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let service: VirtualService
    let registry: SessionTable
    let connector: EmbeddedServerConnector
    let dataPath = InMemoryDataPath()
    let session: ControlSession

    init(
        algorithm: BalancingAlgorithm = .roundRobin,
        servers: [String] = ["10.0.0.5"],
        limits: SessionLimitConfiguration = SessionLimitConfiguration(),
        registry: SessionTable = SessionTable(),
        serverTLS: ServerTLSContext? = nil,
        sharing other: EmbeddedSessionHarness? = nil
    ) throws {
        self.registry = registry
        self.client = EmbeddedChannel(loop: self.loop)
        self.client.localAddress = try SocketAddress(ipAddress: "198.51.100.1", port: 21)
        try self.client.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 40001)).wait()
        var configuration = VirtualServiceConfiguration(
            name: "ftp",
            listen: Endpoint(host: "198.51.100.1", port: 21),
            advertisedAddress: "198.51.100.1",
            passivePorts: 40000...40009,
            servers: servers.enumerated().map { ServerConfiguration(name: "s\($0.offset)", address: Endpoint(host: $0.element, port: 21)) }
        )
        configuration.algorithm = algorithm
        configuration.limits = limits
        let logger = Logger(label: "test")
        // `sharing`: a second session of the same service, on the same pool.
        self.service =
            other?.service
            ?? VirtualService(
                configuration: configuration,
                pool: ServerPool(configuration: configuration, logger: logger),
                passivePorts: PassivePortAllocator(range: configuration.passivePorts),
                statistics: ServiceStatistics(service: "ftp"),
                serverTLS: serverTLS
            )
        self.connector = EmbeddedServerConnector(loop: self.loop)
        self.session = ControlSession(
            id: 1,
            service: self.service,
            registry: self.registry,
            clientChannel: self.client,
            dataPath: self.dataPath,
            transferLog: TransferLog(logger: logger),
            serverConnector: self.connector,
            logger: logger
        )
        self.refusal = self.registry.admit(self.session, limits: configuration.limits)
        if self.refusal == nil { try self.session.start() }
    }

    /// Why the session table turned the session away, if it did (then it never started).
    private(set) var refusal: SessionTable.Refusal?

    var server: EmbeddedChannel? { self.connector.channels.last }

    func clientSends(_ line: String) throws {
        try self.client.writeInbound(ByteBuffer(string: line + "\r\n"))
    }

    func serverSends(_ line: String) throws {
        try self.server?.writeInbound(ByteBuffer(string: line + "\r\n"))
    }

    /// Every line the client has been sent since the last call.
    func clientReceived() throws -> [String] {
        try Self.lines(from: self.client)
    }

    func serverReceived() throws -> [String] {
        guard let server = self.server else { return [] }
        return try Self.lines(from: server)
    }

    private static func lines(from channel: EmbeddedChannel) throws -> [String] {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text.split(separator: "\r\n", omittingEmptySubsequences: true).map(String.init)
    }

    var activeSessionsOnTheServer: Int {
        self.service.pool.snapshot(now: .now()).servers.first?.activeSessions ?? -1
    }

    /// Where each connect went, in order.
    var serversConnected: [String] {
        self.connector.channels.compactMap { $0.remoteAddress?.ipAddress }
    }
}

/// Hands the session an `EmbeddedChannel` for each connect, as a connected server would be.
final class EmbeddedServerConnector: ServerConnector {
    let loop: EmbeddedEventLoop
    private(set) var channels: [EmbeddedChannel] = []

    init(loop: EmbeddedEventLoop) {
        self.loop = loop
    }

    func connect(
        _ connection: ServerConnection,
        on eventLoop: any EventLoop,
        initializer: @escaping (Channel) throws -> Void
    ) -> EventLoopFuture<Channel> {
        let channel = EmbeddedChannel(loop: self.loop)
        do {
            channel.localAddress = try SocketAddress(ipAddress: "10.0.0.1", port: 50000 + self.channels.count)
            try initializer(channel)
            try channel.connect(to: connection.address).wait()
        } catch {
            return self.loop.makeFailedFuture(error)
        }
        self.channels.append(channel)
        return self.loop.makeSucceededFuture(channel)
    }
}
