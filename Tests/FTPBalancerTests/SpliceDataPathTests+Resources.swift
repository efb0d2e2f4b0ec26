#if os(Linux)
import CSplice
import Glibc
import NIOCore
import NIOPosix
import Testing

@testable import FTPBalancer

/// What the splice data path holds and frees: threads, sockets and pipes, the pipe pool, and
/// the sockets' options. In the serialized suite, as the leak test counts the relay threads.
extension SpliceDataPathTests {
    @Test func noThreadSocketOrPipeOutlivesItsFlowOrTheDataPath() async throws {
        let pipeSize = 1 << 17
        let ports = PassivePortAllocator(range: 27580...27589)
        let server = try BlockingSocket.listen()
        let watched = Set(ports.range).union([server.port])
        let before = SpliceResources.current(ports: watched, pipeSize: pipeSize)
        try await withSpliceHarness(pipeSize: pipeSize) { harness in
            #expect(SpliceResources.current(ports: watched, pipeSize: pipeSize).threads == before.threads + 1)
            // A completed flow, a reset one, one refused and one never connected to.
            let observer = RecordingDataFlowObserver()
            var listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            var port = listener.port
            let download = harness.onThread {
                let connection = try server.accept()
                try connection.sendPattern(count: 1 << 20)
                connection.close()
            }
            #expect(try BlockingSocket.connect(to: port).receiveToEnd().count == 1 << 20)
            try await download.get()
            _ = try await Self.report(of: observer)

            listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            port = listener.port
            let accepted = harness.onThread { try server.accept() }
            let client = try BlockingSocket.connect(to: port)
            let serverSide = try await accepted.get()
            try client.reset()
            _ = try await Self.report(of: observer)
            serverSide.close()

            listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            port = listener.port
            _ = try? BlockingSocket.connect(to: port, from: "127.0.0.2").receiveToEnd()
            let unused = UncheckedListener(listener: listener)
            try await harness.eventLoop.submit { unused.listener.close() }.get()

            // A flow still open when the data path stops.
            listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            port = listener.port
            let open = harness.onThread { try server.accept() }
            let lingering = try BlockingSocket.connect(to: port)
            _ = try await open.get()
            let events = try #require(await first(1, of: observer.events))
            guard case .started = events.first else {
                Issue.record("expected the last flow to start, got \(events)")
                return
            }
            _ = lingering
        }
        #expect(ports.inUseCount == 0)
        let after = SpliceResources.current(ports: watched, pipeSize: pipeSize)
        // The test's own listener stays; everything of the data path is gone.
        #expect(after == before)
    }

    @Test func anEmptiedPipeServesTheNextFlowButOneLeftHoldingBytesDoesNot() async throws {
        let pipeSize = 1 << 17  // not the kernel's default, so that only the relay's pipes count
        let ports = PassivePortAllocator(range: 27600...27609)
        let server = try BlockingSocket.listen()
        try await withSpliceHarness(pipeSize: pipeSize) { harness in
            // A client that reads nothing, then resets: its pipe is full when its socket fails.
            let stalledObserver = RecordingDataFlowObserver()
            let stalled = try await harness.openPassive(ports: ports, server: server.port, observer: stalledObserver)
            let client = try BlockingSocket.connect(to: stalled.port)
            let sender = harness.onThread {
                let connection = try server.accept()
                defer { connection.close() }
                _ = try? connection.sendPattern(count: 1 << 30)
            }
            let events = try #require(await first(1, of: stalledObserver.events))
            guard case .started = events.first else {
                Issue.record("expected the flow to start, got \(events)")
                return
            }
            try await Task.sleep(for: .milliseconds(300))  // the socket buffers, then the pipe, fill
            try client.reset()
            try await sender.get()
            _ = await first(1, of: stalledObserver.events)
            // Only the empty pipe (towards the server) is kept: two descriptors.
            #expect(SpliceResources.current(ports: [], pipeSize: pipeSize).pipes == 2)

            // The next flows get exactly their own bytes, through pipes kept from one to the next.
            for round in 1...2 {
                let observer = RecordingDataFlowObserver()
                let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
                let port = listener.port
                let sent = harness.onThread {
                    let connection = try server.accept()
                    defer { connection.close() }
                    return try connection.sendPattern(count: 3 << 20)
                }
                let received = try BlockingSocket.connect(to: port).receiveToEnd()
                #expect(try await received == sent.get(), "flow \(round)")
                _ = try await Self.report(of: observer)
                #expect(SpliceResources.current(ports: [], pipeSize: pipeSize).pipes == 4, "flow \(round)")
            }
        }
    }

    @Test func bothSocketsOfARelayedFlowSendAShortSegmentAtOnce() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27610...27619)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port
            let accepted = harness.onThread { try server.accept() }
            let client = try BlockingSocket.connect(to: port)
            let serverSide = try await accepted.get()
            let events = try #require(await first(1, of: observer.events))
            guard case .started = events.first else {
                Issue.record("expected the flow to start, got \(events)")
                return
            }
            // The relay's sockets are this process's: the one accepted on the passive port, and
            // the one connected to the server (the test's peers have these ports the other way).
            let clientLeg = try #require(ProcessSockets.first { local, _ in local == port })
            let serverLeg = try #require(ProcessSockets.first { _, remote in remote == server.port })
            #expect(ProcessSockets.noDelay(clientLeg) == 1)
            #expect(ProcessSockets.noDelay(serverLeg) == 1)
            client.close()
            serverSide.close()
            _ = await first(1, of: observer.events)
        }
    }
}
#endif
