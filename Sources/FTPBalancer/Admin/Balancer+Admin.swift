import FTPBalancerConfig
import NIOCore

/// What an operator asked of a server, and what came of it.
package enum ServerAdminOutcome: Equatable, Sendable {
    case changed(service: String, PoolState.AdminChange)
    /// No virtual service of that name; `known` lists those there are.
    case unknownService(String, known: [String])
    /// No server of that name; `known` lists the servers of the services searched.
    case unknownServer(String, known: [String])
    /// Servers of that name in several services; one must be chosen.
    case ambiguous(String, services: [String])
}

extension Balancer {
    /// The running virtual services, by name.
    package var runningServices: [VirtualService] {
        self.services.sorted { $0.name < $1.name }
    }

    /// Running sessions per virtual service name.
    package var activeSessionCounts: [String: Int] {
        self.sessions.countsByService
    }

    /// Every running control session with its live data connections.
    package func sessionSnapshots() async throws -> [SessionSnapshot] {
        try await self.sessions.snapshots(on: self.group.next()).get()
    }

    /// Changes a server's state or weight until the next reload. A server is named as in the
    /// file; `service` is needed only when several services have a server of that name.
    package func administer(
        server name: String,
        service: String?,
        _ action: PoolState.AdminAction
    ) -> ServerAdminOutcome {
        let running = self.runningServices
        var candidates = running
        if let service {
            candidates = running.filter { $0.name == service }
            guard !candidates.isEmpty else {
                return .unknownService(service, known: running.map(\.name))
            }
        }
        let matching = candidates.filter { $0.pool.serverNames.contains(name) }
        guard matching.count <= 1 else {
            return .ambiguous(name, services: matching.map(\.name))
        }
        guard let target = matching.first, let change = target.pool.administer(server: name, action) else {
            return .unknownServer(name, known: candidates.flatMap(\.pool.serverNames))
        }
        return .changed(service: target.name, change)
    }
}

extension Balancer {
    /// Sets the state gauges (sessions running, servers up, passive ports held, the transfer log
    /// writable) from the live tables; the metrics endpoint calls it before each scrape.
    package func updateMetricGauges() {
        self.metrics.updateGauges(
            services: self.runningServices,
            activeSessions: self.activeSessionCounts,
            transferLogWritable: self.transferLog.writable,
            now: .now()
        )
    }
}
