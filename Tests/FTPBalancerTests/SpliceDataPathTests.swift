#if os(Linux)
import Glibc
import NIOCore
import NIOPosix
import Testing

@testable import FTPBalancer

/// The splice(2) data path on real loopback sockets: a blocking test client and server on threads
/// of their own, the relay in between. Each test has its own passive port range.
/// Serialized: the leak test counts the process's relay threads.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SpliceDataPathTests {
    static let bulk = 64 << 20

    @Test func a64MiBUploadReachesTheServerByteForByteAndIsReportedWithItsCount() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27500...27509)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port
            #expect(ports.range.contains(port))

            let received = harness.onThread {
                let connection = try server.accept()
                return try connection.receiveToEnd()
            }
            let sent = harness.onThread {
                let client = try BlockingSocket.connect(to: port)
                let digest = try client.sendPattern(count: Self.bulk)
                client.shutdownOutput()
                #expect(try client.receiveToEnd().count == 0)
                return digest
            }
            let (sentDigest, receivedDigest) = try await (sent.get(), received.get())
            #expect(sentDigest.count == Self.bulk)
            #expect(receivedDigest == sentDigest)

            let report = try await Self.report(of: observer)
            #expect(report.mode == .pasv)
            #expect(report.bytesToServer == Self.bulk)
            #expect(report.bytesToClient == 0)
            #expect(ports.inUseCount == 0)
        }
    }

    @Test func a64MiBDownloadReachesTheClientByteForByte() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27510...27519)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port

            let sent = harness.onThread {
                let connection = try server.accept()
                let digest = try connection.sendPattern(count: Self.bulk)
                connection.close()
                return digest
            }
            let received = harness.onThread {
                try BlockingSocket.connect(to: port).receiveToEnd()
            }
            let (sentDigest, receivedDigest) = try await (sent.get(), received.get())
            #expect(receivedDigest == sentDigest)
            let report = try await Self.report(of: observer)
            #expect(report.bytesToClient == Self.bulk)
            #expect(report.bytesToServer == 0)
        }
    }

    @Test func anEmptyUploadReachesTheServerAsAnEndOfFile() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27520...27529)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port

            let received = harness.onThread {
                let connection = try server.accept()
                let digest = try connection.receiveToEnd()
                connection.close()
                return digest
            }
            let client = try BlockingSocket.connect(to: port)
            // Shut at once, possibly before the balancer has connected to the server.
            client.shutdownOutput()
            #expect(try await received.get().count == 0)
            #expect(try await harness.onThread { try client.receiveToEnd() }.get().count == 0)
            let report = try await Self.report(of: observer)
            #expect(report.bytesToServer == 0 && report.bytesToClient == 0)
        }
    }

    @Test func aHalfClosedClientStillReceivesEverythingTheServerSendsAfterwards() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27530...27539)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port

            let serverSide = harness.onThread {
                let connection = try server.accept()
                let request = try connection.receiveToEnd()
                // Only after the client's end of input: the relay must not have closed this way.
                let reply = try connection.sendPattern(count: 3 << 20)
                connection.close()
                return [request, reply]
            }
            let clientSide = harness.onThread {
                let client = try BlockingSocket.connect(to: port)
                let request = try client.sendPattern(count: 1000)
                client.shutdownOutput()
                return [request, try client.receiveToEnd()]
            }
            let (atServer, atClient) = try await (serverSide.get(), clientSide.get())
            #expect(atServer[0] == atClient[0])
            #expect(atClient[1] == atServer[1])
            #expect(atClient[1].count == 3 << 20)
            let report = try await Self.report(of: observer)
            #expect(report.bytesToServer == 1000 && report.bytesToClient == 3 << 20)
        }
    }

    @Test func aClientThatDoesNotReadHoldsTheServerAndLosesNothing() async throws {
        try await withSpliceHarness(pipeSize: 65536) { harness in
            let ports = PassivePortAllocator(range: 27540...27549)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port
            let client = try BlockingSocket.connect(to: port, receiveBuffer: 65536)

            // The server sends until it has been held for half a second.
            let attempt = 512 << 20
            let sent = try await harness.onThread {
                let connection = try server.accept()
                try connection.setTimeouts(.milliseconds(500))
                var digest = StreamDigest()
                try StreamDigest.patternBlock.withUnsafeBytes { block in
                    while digest.count < attempt {
                        let part = UnsafeRawBufferPointer(rebasing: block[..<(64 << 10)])
                        let count = Glibc.send(connection.descriptor, part.baseAddress, part.count, CInt(MSG_NOSIGNAL))
                        if count < 0 {
                            guard errno == EAGAIN else { throw BlockingSocket.Failure(call: "send", errno: errno) }
                            return
                        }
                        digest.add(UnsafeRawBufferPointer(rebasing: part[..<count]))
                    }
                }
                connection.close()
                return digest
            }.get()
            // Held: what is in flight is the sockets' buffers and one pipe, not the file.
            #expect(sent.count < 64 << 20, "the server could send \(sent.count) bytes to a client that reads nothing")
            let received = try await harness.onThread { try client.receiveToEnd() }.get()
            client.close()
            #expect(received.count == sent.count)
            #expect(received == sent)
            let report = try await Self.report(of: observer)
            #expect(report.bytesToClient == sent.count)
        }
    }

    @Test func aResetClientClosesTheServerSideAndTheFlowEnds() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27550...27559)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port
            let client = try BlockingSocket.connect(to: port)

            let serverEnded = harness.onThread {
                let connection = try server.accept()
                // Sends until the relay gives up on this side: a reset, or the end of input.
                do {
                    try connection.sendPattern(count: 1 << 30)
                } catch let failure as BlockingSocket.Failure {
                    return failure.errno == EPIPE || failure.errno == ECONNRESET
                }
                return false
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let first = try buffer.withUnsafeMutableBytes { try client.receive(into: $0) }
            #expect(first > 0)
            try client.reset()
            #expect(try await serverEnded.get())
            let report = try await Self.report(of: observer)
            #expect(report.bytesToClient > 0)
        }
    }

    @Test func aDataConnectionWhereNothingMovesIsResetAfterTheIdleTimeout() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27560...27569)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(
                ports: ports,
                server: server.port,
                observer: observer,
                idleTimeout: .milliseconds(500)
            )
            let port = listener.port
            let started = NIODeadline.now()
            let client = try BlockingSocket.connect(to: port)
            // A reset on both sides, never an end of input that reads as a complete file.
            let serverSaw = harness.onThread { Self.resetSeen { _ = try server.accept().receiveToEnd() } }
            #expect(try await serverSaw.get())
            #expect(try await harness.onThread { Self.resetSeen { _ = try client.receiveToEnd() } }.get())
            let waited = NIODeadline.now() - started
            #expect(waited >= .milliseconds(450) && waited < .seconds(5))
            _ = try await Self.report(of: observer)
        }
    }

    @Test func aConnectionFromAnotherAddressAndASecondConnectionAreRefused() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27570...27579)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let listener = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            let port = listener.port

            // 127.0.0.2 is loopback too, but not the client's address: closed unheard.
            let intruder = try BlockingSocket.connect(to: port, from: "127.0.0.2")
            let intruderSaw = try await harness.onThread { () -> Int in
                do { return try intruder.receiveToEnd().count } catch { return 0 }
            }.get()
            #expect(intruderSaw == 0)

            let download = harness.onThread {
                let connection = try server.accept()
                let digest = try connection.sendPattern(count: 1 << 20)
                connection.close()
                return digest
            }
            let client = try BlockingSocket.connect(to: port)
            // The one data connection is taken: another gets nothing through.
            let second = try? BlockingSocket.connect(to: port, timeout: .seconds(2))
            if let second {
                let secondSaw = try await harness.onThread { () -> Int in
                    do { return try second.receiveToEnd().count } catch { return 0 }
                }.get()
                #expect(secondSaw == 0)
            }
            let received = try await harness.onThread { try client.receiveToEnd() }.get()
            client.close()
            #expect(try await received == download.get())
            _ = try await Self.report(of: observer)
        }
    }

    @Test func aFullPassiveRangeRefusesTheNextListenerUntilAPortIsFree() async throws {
        try await withSpliceHarness { harness in
            let ports = PassivePortAllocator(range: 27590...27590)
            let server = try BlockingSocket.listen()
            let observer = RecordingDataFlowObserver()
            let first = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            await #expect {
                _ = try await harness.openPassive(ports: ports, server: server.port, observer: observer)
            } throws: { error in
                (error as? DataPathError)?.code == .passivePortsExhausted
                    && "\(error)".contains("all 1 passive ports are in use")
            }
            first.close()
            // The port is given back once the listener has closed on its loop.
            var reopened: (any DataListener)?
            for _ in 0..<50 where reopened == nil {
                reopened = try? await harness.openPassive(ports: ports, server: server.port, observer: observer)
                if reopened == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(reopened?.port == 27590)
            reopened?.close()
        }
    }

    /// The report of the test's one data connection, after its start.
    static func report(of observer: RecordingDataFlowObserver) async throws -> DataFlowReport {
        let events = try #require(await first(2, of: observer.events))
        guard events.count == 2, case .started = events[0], case .ended(let report) = events[1] else {
            Issue.record("expected a start and an end, got \(events)")
            throw CancellationError()
        }
        return report
    }

    /// True when reading ended with ECONNRESET, not with an end of input.
    static func resetSeen(_ read: () throws -> Void) -> Bool {
        do {
            try read()
            return false
        } catch let failure as BlockingSocket.Failure {
            return failure.errno == ECONNRESET
        } catch {
            return false
        }
    }
}
#endif
