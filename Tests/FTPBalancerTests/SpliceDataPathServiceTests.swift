#if os(Linux)
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import FTPBalancer

/// The splice data path as a service: first in the group, it stops last, so that the relay
/// threads outlive the sessions the balancer drains.
@Suite(.timeLimit(.minutes(1))) struct SpliceDataPathServiceTests {
    /// Stands in for the balancer, after the data path in the group: on graceful shutdown it
    /// "drains" and notes whether every relay thread was still going round its loop then.
    final class DrainingService: Service, Sendable {
        let path: SpliceDataPath
        let threadsRunningWhileDraining = Mutex<[Bool]>([])

        init(path: SpliceDataPath) {
            self.path = path
        }

        func run() async throws {
            try? await gracefulShutdown()
            let running = self.path.relayThreadTurns.allSatisfy { $0 != nil }
            self.threadsRunningWhileDraining.withLock { $0.append(running) }
        }
    }

    @Test func theRelayThreadsStopOnlyOnceTheServicesAfterThemHaveStopped() async throws {
        let logger = Logger(label: "ftp.test", factory: { _ in SwiftLogNoOpLogHandler() })
        let path = try SpliceDataPath(threads: 2, pipeSize: 1 << 16, logger: logger)
        let draining = DrainingService(path: path)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: path), .init(service: draining)], logger: logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Both threads have gone round their loops once.
            for _ in 0..<500 where !path.relayThreadTurns.allSatisfy({ $0 != nil }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(draining.threadsRunningWhileDraining.withLock { $0 } == [true])
        #expect(path.relayThreadTurns.count == 2)
        #expect(path.relayThreadTurns.allSatisfy { $0 == nil })
    }
}
#endif
