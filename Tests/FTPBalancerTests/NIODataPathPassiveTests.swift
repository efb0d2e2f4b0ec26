import FTPBalancer
import NIOCore
import NIOPosix
import Testing

/// Passive-mode data connections through `NIODataPath`, on real sockets over loopback. Each test
/// has its own event loop and its own passive port range.
@Suite(.timeLimit(.minutes(1))) struct NIODataPathPassiveTests {
    @Test func anUploadReachesTheServerUnchangedAndIsReportedOnceWithItsByteCount() async throws {
        try await withEventLoop { eventLoop in
            let ports = PassivePortAllocator(range: 27000...27009)
            let server = try await TestDataServer.start(on: eventLoop)
            let observer = RecordingDataFlowObserver()
            let port = try await openPassive(on: eventLoop, ports: ports, server: server.address, observer: observer)
            #expect(ports.range.contains(port))

            let upload = testPattern(count: 1 << 20)
            let client = try await TestDataClient.connect(to: port, on: eventLoop)
            try await client.channel.writeAndFlush(upload).get()
            try await client.channel.close(mode: .output).get()

            let received = try #require(await first(1, of: server.connections)?.first)
            #expect(received.bytes.readableBytes == upload.readableBytes)
            #expect(received.bytes == upload)
            #expect(received.peerHost == "127.0.0.1")
            let clientReceived = try #require(await first(1, of: client.received)?.first)
            #expect(clientReceived.bytes.readableBytes == 0)

            let events = try #require(await first(2, of: observer.events))
            try #require(events.count == 2)
            guard case .started(let mode) = events[0], case .ended(let report) = events[1] else {
                Issue.record("expected a start and an end, got \(events)")
                return
            }
            #expect(mode == .pasv)
            #expect(report.mode == .pasv)
            #expect(report.bytesToServer == 1 << 20)
            #expect(report.bytesToClient == 0)
            #expect(ports.inUseCount == 0)

            try await server.channel.close()
            observer.finish()
            #expect(await remaining(of: observer.events).isEmpty)
        }
    }

    @Test func aDownloadReachesTheClientUnchangedAndIsReportedWithItsByteCount() async throws {
        try await withEventLoop { eventLoop in
            let ports = PassivePortAllocator(range: 27010...27019)
            let download = testPattern(count: 1 << 20)
            let server = try await TestDataServer.start(on: eventLoop, payload: download)
            let observer = RecordingDataFlowObserver()
            let port = try await openPassive(on: eventLoop, ports: ports, server: server.address, observer: observer)

            let client = try await TestDataClient.connect(to: port, on: eventLoop)
            let received = try #require(await first(1, of: client.received)?.first)
            #expect(received.bytes.readableBytes == download.readableBytes)
            #expect(received.bytes == download)

            let events = try #require(await first(2, of: observer.events))
            guard events.count == 2, case .ended(let report) = events[1] else {
                Issue.record("expected a start and an end, got \(events)")
                return
            }
            #expect(report.bytesToClient == 1 << 20)
            #expect(report.bytesToServer == 0)
        }
    }

    @Test(.enabled(if: otherLoopbackAddressesWork))
    func aConnectionFromAnotherAddressIsRefusedAndTheListenerStaysForTheClient() async throws {
        try await withEventLoop { eventLoop in
            let ports = PassivePortAllocator(range: 27020...27029)
            let server = try await TestDataServer.start(on: eventLoop)
            let observer = RecordingDataFlowObserver()
            let port = try await openPassive(on: eventLoop, ports: ports, server: server.address, observer: observer)

            // 127.0.0.2 is loopback too, but not the client's address.
            let intruder = try await TestDataClient.connect(to: port, from: "127.0.0.2", on: eventLoop)
            // The balancer may already have closed it.
            try? await intruder.channel.writeAndFlush(ByteBuffer(string: "not yours")).get()
            let refused = try #require(await first(1, of: intruder.received)?.first)
            #expect(refused.bytes.readableBytes == 0)
            #expect(ports.inUseCount == 1)

            let client = try await TestDataClient.connect(to: port, on: eventLoop)
            try await client.channel.writeAndFlush(ByteBuffer(string: "the client's upload")).get()
            try await client.channel.close(mode: .output).get()
            let received = try #require(await first(1, of: server.connections)?.first)
            #expect(received.bytes == ByteBuffer(string: "the client's upload"))

            let events = try #require(await first(2, of: observer.events))
            guard events.count == 2, case .ended(let report) = events[1] else {
                Issue.record("expected a start and an end, got \(events)")
                return
            }
            #expect(report.bytesToServer == 19)

            // Nothing of the refused connection reached the server.
            try await server.channel.close()
            #expect(await first(1, of: server.connections, within: .milliseconds(200))?.isEmpty ?? true)
        }
    }

    @Test func theListenerClosesAndFreesItsPortWhenNoConnectionComesInTime() async throws {
        try await withEventLoop { eventLoop in
            let ports = PassivePortAllocator(range: 27030...27039)
            let server = try await TestDataServer.start(on: eventLoop)
            let observer = RecordingDataFlowObserver()
            let port = try await openPassive(
                on: eventLoop,
                ports: ports,
                server: server.address,
                observer: observer,
                // Long enough that a loaded machine still checks the port before it expires.
                acceptTimeout: .seconds(3)
            )
            #expect(ports.inUseCount == 1)

            let deadline = ContinuousClock.now + .seconds(30)
            while ports.inUseCount > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(ports.inUseCount == 0)
            await #expect(throws: (any Error).self) {
                _ = try await TestDataClient.connect(to: port, on: eventLoop)
            }
            observer.finish()
            #expect(await remaining(of: observer.events).isEmpty)
        }
    }

    @Test func listenersOpenedTogetherGetDifferentPortsFromTheRange() async throws {
        try await withEventLoop { eventLoop in
            let ports = PassivePortAllocator(range: 27040...27049)
            let server = try await TestDataServer.start(on: eventLoop)
            let observer = RecordingDataFlowObserver()
            var opened: [Int] = []
            for _ in 0..<3 {
                opened.append(
                    try await openPassive(on: eventLoop, ports: ports, server: server.address, observer: observer)
                )
            }
            #expect(Set(opened).count == 3)
            #expect(opened.allSatisfy { ports.range.contains($0) })
            #expect(ports.inUseCount == 3)
        }
    }

    @Test(.enabled(if: otherLoopbackAddressesWork)) func anUploadReachesAServerThatIsSlowToAccept() async throws {
        try await withEventLoop { eventLoop in
            let upload = testPattern(count: 100_000)
            let (received, events) = try await uploadToASlowServer(upload, ports: 27050...27059, on: eventLoop)
            let connection = try #require(received, "the balancer never connected to the server")
            #expect(connection.bytes == upload)
            #expect(events.count == 2)
        }
    }

    /// A zero-byte upload: the client closes its data connection at once. NIO reports that end of
    /// input whether or not a read was asked for; passed on as `shutdown(SHUT_WR)` to a
    /// server-side socket still in SYN_SENT it would abort the connect, so it must wait.
    @Test(.enabled(if: otherLoopbackAddressesWork))
    func anEmptyUploadReachesAServerThatIsSlowToAcceptAsAnEmptyConnection() async throws {
        try await withEventLoop { eventLoop in
            let (received, events) = try await uploadToASlowServer(ByteBuffer(), ports: 27060...27069, on: eventLoop)
            let connection = try #require(received, "the balancer never connected to the server")
            #expect(connection.bytes.readableBytes == 0)
            #expect(events.count == 2)
        }
    }
}

/// Uploads `payload` through a passive listener to a server that is slow to accept: its accept
/// queue is full, so the balancer's SYN is dropped and only its retransmission, about a second
/// later, gets through. Returns what the server received from the balancer, if anything, and the
/// data flow events.
private func uploadToASlowServer(
    _ payload: ByteBuffer,
    ports range: ClosedRange<Int>,
    on eventLoop: any EventLoop
) async throws -> (ReceivedBytes?, [RecordingDataFlowObserver.Event]) {
    let ports = PassivePortAllocator(range: range)
    let server = try await TestDataServer.start(on: eventLoop, backlog: 1, accepting: false)
    var queueFull = false
    for _ in 0..<4 {
        let filler = ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(300))
            .bind(to: try SocketAddress(ipAddress: "127.0.0.3", port: 0))
            .connect(to: server.address)
        guard let channel = try? await filler.get() else {
            queueFull = true
            break
        }
        try await channel.close()
    }
    try #require(queueFull, "the server's accept queue never filled up")

    let observer = RecordingDataFlowObserver()
    let port = try await openPassive(
        on: eventLoop,
        ports: ports,
        server: server.address,
        observer: observer,
        connectTimeout: .seconds(4)
    )
    let client = try await TestDataClient.connect(to: port, on: eventLoop)
    if payload.readableBytes > 0 {
        try await client.channel.writeAndFlush(payload).get()
    }
    try await client.channel.close(mode: .output).get()
    // Let the balancer see the client's bytes and end of input while its connect is pending.
    try await Task.sleep(for: .milliseconds(300))
    try await server.channel.setOption(.autoRead, value: true).get()

    var fromBalancer: ReceivedBytes?
    while fromBalancer == nil, let connection = await first(1, of: server.connections, within: .seconds(4))?.first {
        if connection.peerHost == "127.0.0.1" {
            fromBalancer = connection
        }
    }
    let events = await first(2, of: observer.events, within: .seconds(1)) ?? []
    return (fromBalancer, events)
}
