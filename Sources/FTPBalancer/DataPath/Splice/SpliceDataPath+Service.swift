#if os(Linux)
import ServiceLifecycle

/// The splice data path in the service group: its relay threads run until the group shuts
/// down, and stop then. Put first in the group, it stops last, once the balancer has drained
/// its sessions (whose flows the threads report to) and the admin API has stopped answering
/// `/healthz` (which reads the threads' heartbeat), but before the sessions' event loops stop.
extension SpliceDataPath: Service {
    package func run() async throws {
        // Cancelled (the group failed) or shut down gracefully: the threads stop either way.
        try? await gracefulShutdown()
        self.shutdown()
    }
}
#endif
