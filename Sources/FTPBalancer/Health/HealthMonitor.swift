import FTPBalancerConfig
import FTPProtocol
import NIOCore

/// Runs the health checks of every pool: each server is checked once per interval, never by two
/// checks at once, and the pool takes each result. Follows reloads: it asks for the current
/// services on every tick.
struct HealthMonitor {
    /// How often due checks are looked for; the most a check can start late.
    static let tick: Duration = .milliseconds(100)

    let services: @Sendable () -> [VirtualService]
    let group: any EventLoopGroup
    let metrics: BalancerMetrics

    func run() async {
        await withDiscardingTaskGroup { checks in
            while !Task.isCancelled {
                let now = NIODeadline.now()
                var seen: [ObjectIdentifier] = []
                for service in self.services() {
                    // Two listeners can share a pool only across a rename; check it once.
                    let pool = service.pool
                    guard !seen.contains(ObjectIdentifier(pool)) else { continue }
                    seen.append(ObjectIdentifier(pool))
                    let (configuration, due) = pool.dueChecks(now: now)
                    for check in due {
                        let probe = HealthProbe(
                            configuration: configuration,
                            server: check.configuration.address,
                            sourceAddress: service.configuration.sourceAddress,
                            proxyHeader: service.configuration.clientAddress.proxyHeaderVersion,
                            serverTLS: service.serverTLS,
                            eventLoop: self.group.next()
                        )
                        let name = service.name
                        checks.addTask { [metrics] in
                            let result = await probe.run()
                            pool.checkFinished(check, result: result)
                            metrics.healthCheckFinished(
                                service: name,
                                server: check.configuration.name,
                                passed: result.passed,
                                duration: result.duration
                            )
                        }
                    }
                }
                do {
                    try await Task.sleep(for: Self.tick)
                } catch {
                    break
                }
            }
        }
    }
}

extension ClientAddressMode {
    /// The PROXY protocol version this mode sends, if any.
    var proxyHeaderVersion: ProxyProtocolHeader.Version? {
        switch self {
        case .none, .transparent: return nil
        case .proxyProtocolV1: return .v1
        case .proxyProtocolV2: return .v2
        }
    }
}
