import NIOConcurrencyHelpers

/// What one virtual service has done since the balancer started. Kept as one plain struct so
/// that the admin API, and later metrics and traces, read the same numbers.
package struct ServiceCounters: Equatable, Sendable {
    /// Control sessions admitted.
    package var sessions = 0
    /// Sessions and commands turned away, by reason (`service_session_limit`, `no_server_up`,
    /// `bounce_address`, ...).
    package var refusals: [String: Int] = [:]
    /// Data connections that started, by mode.
    package var dataConnections: [DataConnectionMode: Int] = [:]
    /// Reply lines the balancer changed: passive replies, hidden addresses, FEAT lines removed,
    /// unusable replies replaced.
    package var rewrittenReplies = 0
    /// Bytes of data connections that have ended; a live one counts once it ends.
    package var bytesToClient = 0
    package var bytesToServer = 0

    package init() {}
}

/// The counters of one virtual service behind a lock, and the same events as metrics. Updated at
/// session, command and data-connection events, never per byte, so the lock stays off the data
/// path.
package final class ServiceStatistics: Sendable {
    private let counters = NIOLockedValueBox(ServiceCounters())
    private let service: String
    private let metrics: BalancerMetrics
    private let metricCounters: BalancerMetrics.ServiceCounters
    /// Passive data connections from another address than the port's client.
    package let misrouted: MisroutedDataConnections

    package init(service: String = "", metrics: BalancerMetrics = BalancerMetrics()) {
        self.service = service
        self.metrics = metrics
        self.metricCounters = metrics.counters(service: service)
        self.misrouted = metrics.misroutedDataConnections(service: service)
    }

    package var current: ServiceCounters {
        self.counters.withLockedValue { $0 }
    }

    func record(_ update: (inout ServiceCounters) -> Void) {
        self.counters.withLockedValue { update(&$0) }
    }

    func refused(_ reason: String) {
        self.record { $0.refusals[reason, default: 0] += 1 }
        self.metrics.refused(service: self.service, reason: reason)
    }

    func tlsHandshake(side: String = "client", connection: String, result: String) {
        self.metrics.tlsHandshake(service: self.service, side: side, connection: connection, result: result)
    }

    func tlsSessionReuse(side: String = "client", result: String) {
        self.metrics.tlsSessionReuse(service: self.service, side: side, result: result)
    }

    func sessionAdmitted() {
        self.record { $0.sessions += 1 }
        self.metricCounters.sessionAdmitted()
    }

    func dataConnectionStarted(_ mode: DataConnectionMode) {
        self.record { $0.dataConnections[mode, default: 0] += 1 }
        self.metricCounters.dataConnectionStarted(mode)
    }

    func dataConnectionEnded(_ report: DataFlowReport) {
        self.record {
            $0.bytesToClient += report.bytesToClient
            $0.bytesToServer += report.bytesToServer
        }
        self.metricCounters.dataConnectionEnded(
            bytesToClient: report.bytesToClient,
            bytesToServer: report.bytesToServer
        )
    }
}
