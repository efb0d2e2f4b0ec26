import CoreMetrics
import FTPBalancerConfig
import NIOConcurrencyHelpers
import NIOCore

/// The balancer's metrics, through swift-metrics: made once by the `Balancer` with the factory
/// the executable bootstrapped. Names never vary, labels do. Counters move at session, command,
/// health-check and data-connection events, never per byte; gauges that are states (sessions
/// running, servers up, passive ports held) are set from the live tables when metrics are read,
/// by `updateGauges`, so nothing keeps them in step.
package final class BalancerMetrics: Sendable {
    package enum Name {
        package static let sessionsActive = "ftplb_sessions_active"
        package static let sessionsTotal = "ftplb_sessions_total"
        package static let dataConnectionsTotal = "ftplb_data_connections_total"
        package static let bytesTotal = "ftplb_bytes_total"
        package static let serverUp = "ftplb_server_up"
        package static let healthChecksTotal = "ftplb_health_checks_total"
        package static let healthCheckDuration = "ftplb_health_check_duration_seconds"
        package static let passivePortsInUse = "ftplb_passive_ports_in_use"
        package static let passivePortsTotal = "ftplb_passive_ports_total"
        package static let refusalsTotal = "ftplb_refusals_total"
        package static let misroutedDataConnectionsTotal = "ftplb_misrouted_data_connections_total"
        package static let tlsHandshakesTotal = "ftplb_tls_handshakes_total"
        package static let tlsSessionReuseTotal = "ftplb_tls_session_reuse_total"
        package static let transferLogWritable = "ftplb_transfer_log_writable"
        package static let adminRequestsRefusedTotal = "ftplb_admin_requests_refused_total"
    }

    /// One gauge series: its name and labels.
    private struct Series: Hashable {
        var name: String
        var labels: [String]
    }

    private let factory: any MetricsFactory
    /// The gauge series set at the last update, so that those of a removed service or server
    /// are dropped instead of showing their last value for ever.
    private let gauges = NIOLockedValueBox<Set<Series>>([])

    package init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    // MARK: Events

    /// The counters a service moves on every session and data connection, made once: making a
    /// counter looks its series up in the registry under a lock, with its labels as strings.
    struct ServiceCounters: Sendable {
        let sessions: Counter
        let dataConnections: [DataConnectionMode: Counter]
        let bytesToClient: Counter
        let bytesToServer: Counter

        func sessionAdmitted() {
            self.sessions.increment()
        }

        func dataConnectionStarted(_ mode: DataConnectionMode) {
            self.dataConnections[mode]?.increment()
        }

        /// Bytes are counted when a data connection ends, with the relay's totals: a live
        /// transfer shows in `ftplb_bytes_total` once it ends (the admin API's flows show it as
        /// it goes).
        func dataConnectionEnded(bytesToClient: Int, bytesToServer: Int) {
            if bytesToClient > 0 { self.bytesToClient.increment(by: bytesToClient) }
            if bytesToServer > 0 { self.bytesToServer.increment(by: bytesToServer) }
        }
    }

    func counters(service: String) -> ServiceCounters {
        func counter(_ name: String, _ labels: [(String, String)]) -> Counter {
            Counter(label: name, dimensions: [("service", service)] + labels, factory: self.factory)
        }
        return ServiceCounters(
            sessions: counter(Name.sessionsTotal, []),
            dataConnections: Dictionary(
                uniqueKeysWithValues: DataConnectionMode.allCases.map {
                    ($0, counter(Name.dataConnectionsTotal, [("mode", $0.rawValue)]))
                }
            ),
            bytesToClient: counter(Name.bytesTotal, [("direction", "to_client")]),
            bytesToServer: counter(Name.bytesTotal, [("direction", "to_server")])
        )
    }

    /// Made once per service with the others, so that the series exists from 0.
    func misroutedDataConnections(service: String) -> MisroutedDataConnections {
        MisroutedDataConnections(
            counter: Counter(
                label: Name.misroutedDataConnectionsTotal,
                dimensions: [("service", service)],
                factory: self.factory
            )
        )
    }

    func refused(service: String, reason: String) {
        self.count(Name.refusalsTotal, [("service", service), ("reason", reason)])
    }

    /// `side`: client or server; `connection`: control or data; `result`: ok or failed.
    func tlsHandshake(service: String, side: String, connection: String, result: String) {
        self.count(Name.tlsHandshakesTotal, [("service", service), ("side", side), ("connection", connection), ("result", result)])
    }

    /// A protected data connection's resumption: resumed, not_resumed (allowed) or refused.
    func tlsSessionReuse(service: String, side: String, result: String) {
        self.count(Name.tlsSessionReuseTotal, [("service", service), ("side", side), ("result", result)])
    }

    /// An admin API request refused for its token: `wrong_token` (401) or `rate_limited` (429).
    package func adminRequestRefused(reason: String) {
        self.count(Name.adminRequestsRefusedTotal, [("reason", reason)])
    }

    func healthCheckFinished(service: String, server: String, passed: Bool, duration: TimeAmount) {
        self.count(
            Name.healthChecksTotal,
            [("service", service), ("server", server), ("result", passed ? "pass" : "fail")]
        )
        Timer(
            label: Name.healthCheckDuration,
            dimensions: [("service", service), ("server", server)],
            factory: self.factory
        )
        .recordNanoseconds(duration.nanoseconds)
    }

    private func count(_ name: String, _ labels: [(String, String)], by amount: Int = 1) {
        Counter(label: name, dimensions: labels, factory: self.factory).increment(by: amount)
    }

    // MARK: States

    /// Sets the state gauges from the running services; called just before metrics are read.
    package func updateGauges(
        services: [VirtualService],
        activeSessions: [String: Int],
        transferLogWritable: Bool? = nil,
        now: NIODeadline
    ) {
        var values: [(Series, [(String, String)], Double)] = []
        func set(_ name: String, _ labels: [(String, String)], _ value: Int) {
            values.append((Series(name: name, labels: labels.flatMap { [$0.0, $0.1] }), labels, Double(value)))
        }
        for service in services {
            let labels = [("service", service.name)]
            set(Name.sessionsActive, labels, activeSessions[service.name, default: 0])
            set(Name.passivePortsInUse, labels, service.passivePorts.inUseCount)
            set(Name.passivePortsTotal, labels, service.passivePorts.range.count)
            for server in service.pool.snapshot(now: now).servers where !server.retired {
                set(Name.serverUp, labels + [("server", server.name)], server.health == .down ? 0 : 1)
            }
        }
        if let transferLogWritable { set(Name.transferLogWritable, [], transferLogWritable ? 1 : 0) }
        let current = Set(values.map(\.0))
        let stale = self.gauges.withLockedValue { previous in
            defer { previous = current }
            return previous.subtracting(current)
        }
        for series in stale {
            let labels = stride(from: 0, to: series.labels.count, by: 2).map {
                (series.labels[$0], series.labels[$0 + 1])
            }
            Gauge(label: series.name, dimensions: labels, factory: self.factory).destroy()
        }
        for (series, labels, value) in values {
            Gauge(label: series.name, dimensions: labels, factory: self.factory).record(value)
        }
    }
}
