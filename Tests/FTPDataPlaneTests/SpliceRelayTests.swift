import CSplice
import FTPDataPlane
import Glibc
import Testing

/// The plane's relay alone, between real loopback sockets: no FTP, no SwiftNIO.
@Suite(.serialized, .timeLimit(.minutes(2))) struct SpliceRelayTests {
    /// A started loop, and a relay on it between two fresh connections: the test holds their
    /// other ends, and stops the loop.
    struct Relayed {
        let loop: SpliceEventLoop
        let client: TestSocket
        let server: TestSocket
        let report = RelayReport()
    }

    static func relay(pipeSize: Int = 1 << 20, idleTimeout: Duration = .seconds(60)) throws -> Relayed {
        let client = try TestSocket.pair()
        let server = try TestSocket.pair()
        let loop = try SpliceEventLoop()
        try loop.start()
        let relayed = Relayed(loop: loop, client: client.testSide, server: server.testSide)
        // Handed to the loop's thread as numbers: a closure cannot carry a noncopyable value.
        let (clientNumber, serverNumber) = (client.relaySide.release(), server.relaySide.release())
        let sizing = SplicePipeSizing(requested: pipeSize) { _ in }
        let report = relayed.report
        loop.execute {
            try? loop.relay(
                client: SpliceSocketHandle(descriptor: Descriptor(clientNumber)),
                server: SpliceSocketHandle(descriptor: Descriptor(serverNumber)),
                sizing: sizing,
                idleTimeout: idleTimeout,
                starting: { counters, _ in report.started(counters) },
                ended: { report.record($0) }
            )
        }
        return relayed
    }

    @Test func bytesGoBothWaysAndTheClientsEndOfInputLetsTheServerAnswerAfterIt() async throws {
        let relayed = try Self.relay()
        defer { relayed.loop.shutdown() }
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)

        let clientThread = try onThread {
            let sent = try clientPeer.send(1 << 20)
            clientPeer.shutdownOutput()
            return (sent, try clientPeer.receiveToEnd())
        }
        let serverThread = try onThread {
            let received = try serverPeer.receiveToEnd()
            let answer = try serverPeer.send(300_000)
            serverPeer.shutdownOutput()
            return (received, answer)
        }
        let (uploaded, downloaded) = try await clientThread.value()
        let (received, answer) = try await serverThread.value()
        #expect(received == uploaded)
        #expect(downloaded == answer)
        #expect(try await report.wait() == SpliceRelayEnd(bytesToClient: 300_000, bytesToServer: 1 << 20))
    }

    @Test func aClientThatDoesNotReadHoldsTheServerToTheBuffersAndLosesNothing() async throws {
        let relayed = try Self.relay(pipeSize: 65536)
        defer { relayed.loop.shutdown() }
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)

        // The server sends until it has been held for half a second, the client reading nothing.
        let sent = try await onThread {
            let sent = try serverPeer.sendUntilHeld(limit: 512 << 20, patience: 500)
            serverPeer.shutdownOutput()
            return sent
        }.value()
        #expect(sent < 64 << 20, "the server could send \(sent) bytes to a client that reads nothing")
        #expect(report.bytesToClient <= sent)
        let received = try await onThread { try clientPeer.countToEnd() }.value()
        #expect(received == sent)
        clientPeer.shutdownOutput()
        #expect(try await report.wait()?.bytesToClient == sent)
    }

    @Test func aRelayWhereNothingMovesResetsBothSidesAfterTheIdleTimeout() async throws {
        let relayed = try Self.relay(idleTimeout: .milliseconds(200))
        defer { relayed.loop.shutdown() }
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)
        // Both see a reset, not an end of input that a client would take for a whole file.
        #expect(try await onThread { clientPeer.readUntilEnd() }.value() == ECONNRESET)
        #expect(try await onThread { serverPeer.readUntilEnd() }.value() == ECONNRESET)
        #expect(try await report.wait() == SpliceRelayEnd(bytesToClient: 0, bytesToServer: 0))
    }

    @Test func aServerThatResetsMidTransferIsAResetForTheClientToo() async throws {
        let relayed = try Self.relay()
        defer { relayed.loop.shutdown() }
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)
        _ = try await onThread { try serverPeer.send(100_000) }.value()
        // Unread bytes make the server's close a reset, as a killed server's would be.
        _ = try await onThread { try clientPeer.send(1000) }.value()
        serverPeer.reset()
        #expect(try await onThread { clientPeer.readUntilEnd() }.value() == ECONNRESET)
        #expect(try await report.wait() != nil)
    }

    @Test func aCleanEndOnBothSidesIsNoReset() async throws {
        let relayed = try Self.relay()
        defer { relayed.loop.shutdown() }
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)
        _ = try await onThread { try serverPeer.send(100_000) }.value()
        serverPeer.shutdownOutput()
        #expect(try await onThread { try clientPeer.countToEnd() }.value() == 100_000)
        clientPeer.shutdownOutput()
        #expect(try await onThread { serverPeer.readUntilEnd() }.value() == nil)
        #expect(try await report.wait() == SpliceRelayEnd(bytesToClient: 100_000, bytesToServer: 0))
    }

    @Test func aDescriptorClosesWhenDroppedAndNotWhenReleased() throws {
        var ends: [CInt] = [-1, -1]
        #expect(csplice_pipe(&ends) == 0)
        let reader = Descriptor(ends[0])
        var byte: UInt8 = 7
        do {
            let writer = Descriptor(ends[1])
            #expect(Glibc.write(writer.raw, &byte, 1) == 1)
        }
        // The writer is gone: the reader gets the byte, then the end of the pipe.
        #expect(Glibc.read(reader.raw, &byte, 1) == 1)
        #expect(Glibc.read(reader.raw, &byte, 1) == 0)
        let released = Descriptor(reader.release()).release()
        #expect(fcntl(released, F_GETFD) >= 0)
        Glibc.close(released)
    }

    @Test func aRelayClosesItsSocketsAndPoolsItsEmptyPipesWhichTheLoopClosesWhenItStops() async throws {
        let pipeSize = 1 << 19  // no other test's size, so that only this relay's pipes count
        let relayed = try Self.relay(pipeSize: pipeSize)
        let (clientPeer, serverPeer, report) = (relayed.client, relayed.server, relayed.report)
        clientPeer.shutdownOutput()
        serverPeer.shutdownOutput()
        #expect(try await onThread { try clientPeer.receiveToEnd() }.value() == [])
        #expect(try await onThread { try serverPeer.receiveToEnd() }.value() == [])
        #expect(try await report.wait() != nil)
        // Two pipes of two ends each, empty, kept for the next relay.
        #expect(Self.pipeEnds(ofSize: pipeSize) == 4)
        relayed.loop.shutdown()
        #expect(Self.pipeEnds(ofSize: pipeSize) == 0)
    }

    /// This process's pipe ends of `size` bytes.
    static func pipeEnds(ofSize size: Int) -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(directory) {
            // The name in place: copying the whole dirent reads past the end of the last one.
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            guard let descriptor = CInt(name) else { continue }
            var target = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/self/fd/\(name)", &target, target.count - 1)
            let text = String(decoding: target.prefix(max(0, length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("pipe:"), csplice_pipe_size(descriptor) == CInt(size) { count += 1 }
        }
        return count
    }
}
