import Logging
import NIOCore
import NIOPosix
import Testing

@testable import FTPBalancer

/// Which data path a test runs on: each test runs on both.
enum DataPathKind: String, CaseIterable, Sendable {
    case nio, splice

    /// Ports of the passive range apart per data path, since the tests of both run at once.
    var portOffset: Int { self == .nio ? 0 : 50 }
}

/// Runs `body` with a data path of `kind`, stopped afterwards whatever happens.
func withDataPath(_ kind: DataPathKind, _ body: (any DataPath) async throws -> Void) async throws {
    switch kind {
    case .nio:
        try await body(NIODataPath())
    case .splice:
        let logger = Logger(label: "ftp.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let path = try SpliceDataPath(threads: 1, pipeSize: 65536, logger: logger)
        do {
            try await body(path)
        } catch {
            path.shutdown()
            throw error
        }
        path.shutdown()
    }
}

/// Translated data connections on real sockets over loopback (127.0.96.x): the balancer listens
/// on both sides, or connects to both; on both data paths.
@Suite(.timeLimit(.minutes(1)), .enabled(if: otherLoopbackAddressesWork)) struct TranslatedDataPathTests {
    static let balancer = "127.0.96.1"
    static let client = "127.0.96.2"
    static let server = "127.0.96.3"
    static let logger = Logger(label: "ftp.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The client's and the server's ports of a new translated passive connection.
    private func openTranslatedPassive(
        on path: any DataPath,
        eventLoop: any EventLoop,
        ports: PassivePortAllocator,
        observer: RecordingDataFlowObserver,
        acceptTimeout: TimeAmount = .seconds(10)
    ) async throws -> (clientPort: Int, serverPort: Int) {
        try await eventLoop.flatSubmit { () -> EventLoopFuture<(Int, Int)> in
            let request = TranslatedPassiveDataRequest(
                mode: .epsv,
                listenHost: Self.balancer,
                ports: ports,
                clientHost: Self.client,
                serverListenHost: Self.balancer,
                serverHost: Self.server,
                transparent: false,
                freebind: false,
                acceptTimeout: acceptTimeout,
                connectTimeout: .seconds(5),
                idleTimeout: .seconds(30)
            )
            return path.openTranslatedPassive(request, on: eventLoop, observer: observer, logger: Self.logger)
                .assumeIsolated()
                .map { ($0.port, $0.serverSidePort) }
                .nonisolated()
        }.get()
    }

    @Test(arguments: DataPathKind.allCases)
    func theServerMayConnectBeforeTheClientAndTheFileStillReachesTheClientWhole(kind: DataPathKind) async throws {
        try await withEventLoop { eventLoop in
            try await withDataPath(kind) { path in
                let ports = PassivePortAllocator(range: (28900 + kind.portOffset)...(28909 + kind.portOffset))
                let observer = RecordingDataFlowObserver()
                let opened = try await self.openTranslatedPassive(
                    on: path,
                    eventLoop: eventLoop,
                    ports: ports,
                    observer: observer
                )
                #expect(ports.range.contains(opened.clientPort))
                #expect(opened.serverPort > 0)

                let download = testPattern(count: 1 << 20)
                _ = try await TestDataClient.connect(
                    to: opened.serverPort,
                    at: Self.balancer,
                    from: Self.server,
                    payload: download,
                    on: eventLoop
                )
                let client = try await TestDataClient.connect(
                    to: opened.clientPort,
                    at: Self.balancer,
                    from: Self.client,
                    on: eventLoop
                )
                let received = try #require(await first(1, of: client.received)?.first)
                #expect(received.bytes == download)

                let events = try #require(await first(2, of: observer.events))
                guard events.count == 2, case .started(let mode) = events[0], case .ended(let report) = events[1] else {
                    Issue.record("expected a start and an end, got \(events)")
                    return
                }
                #expect(mode == .epsv)
                #expect(report.bytesToClient == 1 << 20)
                #expect(ports.inUseCount == 0)
            }
        }
    }

    @Test(arguments: DataPathKind.allCases)
    func connectionsFromAnyOtherAddressThanTheSessionsPeersAreRefused(kind: DataPathKind) async throws {
        try await withEventLoop { eventLoop in
            try await withDataPath(kind) { path in
                let ports = PassivePortAllocator(range: (28910 + kind.portOffset)...(28919 + kind.portOffset))
                let observer = RecordingDataFlowObserver()
                let opened = try await self.openTranslatedPassive(
                    on: path,
                    eventLoop: eventLoop,
                    ports: ports,
                    observer: observer,
                    // Long enough that both strangers connect before it however slow the process
                    // (under ThreadSanitizer with the whole suite beside it, 5 s was not).
                    acceptTimeout: .seconds(30)
                )
                // The client's address on the server's listener and the server's on the client's.
                let strangers = [
                    try await TestDataClient.connect(
                        to: opened.serverPort,
                        at: Self.balancer,
                        from: Self.client,
                        on: eventLoop
                    ),
                    try await TestDataClient.connect(
                        to: opened.clientPort,
                        at: Self.balancer,
                        from: Self.server,
                        on: eventLoop
                    ),
                ]
                for stranger in strangers {
                    let closed = try #require(await first(1, of: stranger.received)?.first)
                    #expect(closed.bytes.readableBytes == 0)
                }
                // The accept timeout closes both listeners and gives the port back.
                for _ in 0..<1800 where ports.inUseCount > 0 {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(ports.inUseCount == 0)
                observer.finish()
                #expect(await remaining(of: observer.events).isEmpty)
            }
        }
    }

    @Test(arguments: DataPathKind.allCases)
    func aTranslatedActiveConnectionConnectsToBothAndRelaysTheUploadFromTheBalancersAddress(
        kind: DataPathKind
    ) async throws {
        try await withEventLoop { eventLoop in
            try await withDataPath(kind) { path in
                let upload = testPattern(count: 1 << 20)
                let client = try await TestDataServer.start(on: eventLoop, host: Self.client, payload: upload)
                let server = try await TestDataServer.start(on: eventLoop, host: Self.server)
                let observer = RecordingDataFlowObserver()
                let request = TranslatedActiveDataRequest(
                    mode: .port,
                    client: client.address,
                    clientSideSource: try SocketAddress(ipAddress: Self.balancer, port: 0),
                    server: server.address,
                    serverSideSource: try SocketAddress(ipAddress: Self.balancer, port: 0),
                    transparent: false,
                    freebind: false,
                    connectTimeout: .seconds(5),
                    idleTimeout: .seconds(30)
                )
                _ = try await eventLoop.flatSubmit {
                    path.openTranslatedActive(request, on: eventLoop, observer: observer, logger: Self.logger)
                        .map { _ in () }
                }.get()
                let received = try #require(await first(1, of: server.connections)?.first)
                #expect(received.bytes == upload)
                #expect(received.peerHost == Self.balancer)
                let events = try #require(await first(2, of: observer.events))
                guard events.count == 2, case .started(.port) = events[0], case .ended(let report) = events[1] else {
                    Issue.record("expected a start and an end, got \(events)")
                    return
                }
                #expect(report.bytesToServer == 1 << 20)
                try await server.channel.close()
                try await client.channel.close()
            }
        }
    }

    @Test(arguments: DataPathKind.allCases)
    func aClientThatCannotBeReachedFailsTheTranslatedActiveConnectionClearly(kind: DataPathKind) async throws {
        try await withEventLoop { eventLoop in
            try await withDataPath(kind) { path in
                let server = try await TestDataServer.start(on: eventLoop, host: Self.server)
                let closed = try await TestDataServer.start(on: eventLoop, host: Self.client)
                let unreachable = closed.address
                try await closed.channel.close()
                let request = TranslatedActiveDataRequest(
                    mode: .eprt,
                    client: unreachable,
                    clientSideSource: try SocketAddress(ipAddress: Self.balancer, port: 0),
                    server: server.address,
                    serverSideSource: try SocketAddress(ipAddress: Self.balancer, port: 0),
                    transparent: false,
                    freebind: false,
                    connectTimeout: .seconds(5),
                    idleTimeout: .seconds(30)
                )
                let observer = RecordingDataFlowObserver()
                await #expect {
                    try await eventLoop.flatSubmit {
                        path.openTranslatedActive(request, on: eventLoop, observer: observer, logger: Self.logger)
                            .map { _ in () }
                    }.get()
                } throws: { error in
                    (error as? DataPathError)?.code == .clientUnreachable
                }
                try await server.channel.close()
            }
        }
    }
}
