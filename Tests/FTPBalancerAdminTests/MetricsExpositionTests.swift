import FTPBalancerConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Testing

@testable import FTPBalancer
@testable import FTPBalancerAdmin

@Suite struct MetricsExpositionTests {
    static func service(_ name: String, metrics: BalancerMetrics) -> VirtualService {
        let configuration = VirtualServiceConfiguration(
            name: name,
            listen: Endpoint(host: "127.0.0.1", port: 2121),
            advertisedAddress: "127.0.0.1",
            passivePorts: 40000...40009,
            servers: [ServerConfiguration(name: "one", address: Endpoint(host: "192.0.2.1", port: 21))]
        )
        return VirtualService(
            configuration: configuration,
            pool: ServerPool(configuration: configuration, logger: Logger(label: "test")),
            passivePorts: PassivePortAllocator(range: configuration.passivePorts),
            statistics: ServiceStatistics(service: name, metrics: metrics)
        )
    }

    /// The lines of the exposition that are samples, without comments.
    static func samples(_ registry: PrometheusCollectorRegistry) -> Set<String> {
        Set(registry.emitToString().split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init))
    }

    @Test func eventsBecomeCountersLabelledByServiceModeDirectionAndReason() {
        let registry = PrometheusCollectorRegistry()
        let metrics = BalancerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let service = Self.service("ftp", metrics: metrics)
        service.statistics.sessionAdmitted()
        service.statistics.sessionAdmitted()
        service.statistics.refused("client_session_limit")
        service.statistics.dataConnectionStarted(.epsv)
        service.statistics.dataConnectionEnded(
            DataFlowReport(mode: .epsv, bytesToClient: 1000, bytesToServer: 0, duration: .milliseconds(5))
        )
        metrics.healthCheckFinished(service: "ftp", server: "one", passed: false, duration: .milliseconds(20))
        let samples = Self.samples(registry)
        #expect(samples.contains(#"ftplb_sessions_total{service="ftp"} 2"#))
        #expect(samples.contains(#"ftplb_refusals_total{service="ftp",reason="client_session_limit"} 1"#))
        #expect(samples.contains(#"ftplb_data_connections_total{service="ftp",mode="epsv"} 1"#))
        #expect(samples.contains(#"ftplb_bytes_total{service="ftp",direction="to_client"} 1000"#))
        #expect(samples.contains(#"ftplb_health_checks_total{service="ftp",server="one",result="fail"} 1"#))
        #expect(samples.contains(#"ftplb_health_check_duration_seconds_count{service="ftp",server="one"} 1"#))
        #expect(registry.emitToString().contains("# TYPE ftplb_health_check_duration_seconds histogram"))
        #expect(service.statistics.current.sessions == 2)
    }

    @Test func stateGaugesAreSetWhenReadAndDroppedWithTheirService() {
        let registry = PrometheusCollectorRegistry()
        let metrics = BalancerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let ftp = Self.service("ftp", metrics: metrics)
        let other = Self.service("other", metrics: metrics)
        _ = ftp.passivePorts.allocate()
        metrics.updateGauges(services: [ftp, other], activeSessions: ["ftp": 3], now: .now())
        var samples = Self.samples(registry)
        #expect(samples.contains(#"ftplb_sessions_active{service="ftp"} 3.0"#))
        #expect(samples.contains(#"ftplb_sessions_active{service="other"} 0.0"#))
        #expect(samples.contains(#"ftplb_passive_ports_in_use{service="ftp"} 1.0"#))
        #expect(samples.contains(#"ftplb_passive_ports_total{service="ftp"} 10.0"#))
        // A pool never checked yet counts its servers down until the first check passes.
        #expect(samples.contains { $0.hasPrefix(#"ftplb_server_up{service="ftp",server="one"}"#) })
        metrics.updateGauges(services: [ftp], activeSessions: [:], now: .now())
        samples = Self.samples(registry)
        #expect(samples.contains(#"ftplb_sessions_active{service="ftp"} 0.0"#))
        let gauges = ["ftplb_sessions_active", "ftplb_passive_ports_in_use", "ftplb_passive_ports_total", "ftplb_server_up"]
        #expect(!samples.contains { sample in
            gauges.contains { sample.hasPrefix($0 + "{") } && sample.contains(#"service="other""#)
        })
    }

    /// A service's counters exist from its start at 0, so that rate() sees their first increase.
    @Test func aServiceCountersStartAtZero() {
        let registry = PrometheusCollectorRegistry()
        let metrics = BalancerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        _ = Self.service("ftp", metrics: metrics)
        let samples = Self.samples(registry)
        #expect(samples.contains(#"ftplb_sessions_total{service="ftp"} 0"#))
        #expect(samples.contains(#"ftplb_data_connections_total{service="ftp",mode="pasv"} 0"#))
        #expect(samples.contains(#"ftplb_bytes_total{service="ftp",direction="to_server"} 0"#))
    }

    @Test func metricsFollowTheTokenRuleAndAreServedAsPrometheusText() async {
        let registry = PrometheusCollectorRegistry()
        let balancer = Balancer(
            configuration: BalancerConfiguration(virtualServices: []),
            group: MultiThreadedEventLoopGroup.singleton,
            metrics: BalancerMetrics(factory: PrometheusMetricsFactory(registry: registry)),
            logger: Logger(label: "test")
        )
        let api = AdminAPI(
            balancer: balancer,
            token: "secret",
            reload: { .refused("test") },
            metrics: MetricsExposition(registry: registry, balancer: balancer),
            logger: Logger(label: "test")
        )
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "ftplb", metricName: "test", unitName: "total", helpText: "")
        )
        .increment()
        let refused = await api.respond(to: AdminRequest(method: .GET, uri: "/metrics", authorization: nil, peer: "t"))
        #expect(refused.status == .unauthorized)
        let response = await api.respond(
            to: AdminRequest(method: .GET, uri: "/metrics", authorization: "Bearer secret", peer: "t")
        )
        #expect(response.status == .ok)
        #expect(response.text?.contentType.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(response.text?.text.contains("ftplb_test_total 1") == true)
        let post = await api.respond(
            to: AdminRequest(method: .POST, uri: "/metrics", authorization: "Bearer secret", peer: "t")
        )
        #expect(post.status == .methodNotAllowed)
    }
}
