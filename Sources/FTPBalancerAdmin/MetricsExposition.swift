import FTPBalancer
import Prometheus

/// The balancer's metrics in the Prometheus text format, for `GET /metrics`: the registry that
/// the executable bootstrapped swift-metrics with, after the state gauges are set from the live
/// tables.
package struct MetricsExposition: Sendable {
    package static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let registry: PrometheusCollectorRegistry
    let balancer: Balancer

    package init(registry: PrometheusCollectorRegistry, balancer: Balancer) {
        self.registry = registry
        self.balancer = balancer
    }

    package func render() -> String {
        self.balancer.updateMetricGauges()
        return self.registry.emitToString()
    }
}
