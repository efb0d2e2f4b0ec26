#if os(Linux)
import Glibc
import NIOCore
import NIOPosix
import Testing

@testable import FTPBalancer

extension SpliceDataPathTests {
    /// Active mode on the splice data path: the client is connected first, then only the session's
    /// server may connect to the listener. Nested, so that it runs serialized with the leak test.
    @Suite struct Active {
        @Test func theClientIsConnectedFirstAndOnlyTheServerMayConnectToTheListener() async throws {
            try await withSpliceHarness { harness in
                let clientListener = try BlockingSocket.listen()
                let observer = RecordingDataFlowObserver()
                let listener = try await harness.openActive(client: clientListener.port, observer: observer)
                let port = listener.port
                #expect(port > 0)
                // Already connected when the listener is handed over.
                let client = try clientListener.accept()

                let intruder = try BlockingSocket.connect(to: port, from: "127.0.0.2")
                let intruderSaw = try await harness.onThread { () -> Int in
                    do { return try intruder.receiveToEnd().count } catch { return 0 }
                }.get()
                #expect(intruderSaw == 0)

                let sent = harness.onThread {
                    let server = try BlockingSocket.connect(to: port)
                    let digest = try server.sendPattern(count: 4 << 20)
                    server.shutdownOutput()
                    #expect(try server.receiveToEnd().count == 0)
                    return digest
                }
                let received = try await harness.onThread { try client.receiveToEnd() }.get()
                client.close()
                #expect(try await received == sent.get())
                let report = try await SpliceDataPathTests.report(of: observer)
                #expect(report.mode == .port)
                #expect(report.bytesToClient == 4 << 20)
            }
        }

        @Test func aClientThatCannotBeReachedFailsTheOpenAsUnreachable() async throws {
            try await withSpliceHarness { harness in
                // A port nothing listens on: bound, then closed.
                let closedPort = try BlockingSocket.listen().port
                let observer = RecordingDataFlowObserver()
                await #expect {
                    _ = try await harness.openActive(client: closedPort, observer: observer)
                } throws: { error in
                    (error as? DataPathError)?.code == .clientUnreachable
                }
            }
        }

        @Test func aServerThatNeverConnectsGetsTheClientConnectionClosedAfterTheTimeout() async throws {
            try await withSpliceHarness { harness in
                let clientListener = try BlockingSocket.listen()
                let observer = RecordingDataFlowObserver()
                let listener = try await harness.openActive(
                    client: clientListener.port,
                    observer: observer,
                    connectTimeout: .milliseconds(300)
                )
                let port = listener.port
                let client = try clientListener.accept()
                #expect(try await harness.onThread { try client.receiveToEnd().count }.get() == 0)
                // The listener is gone too.
                #expect(throws: BlockingSocket.Failure.self) { try BlockingSocket.connect(to: port) }
                observer.finish()
                #expect(await remaining(of: observer.events).isEmpty)
            }
        }
    }
}
#endif
