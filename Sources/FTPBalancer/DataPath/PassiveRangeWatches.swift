import Logging
import NIOConcurrencyHelpers

/// The `PassiveRangeWatch` of each passive range the running services advertise, kept in step
/// with the configuration: a reload starts the watches of new ranges and stops those of ranges
/// gone. Without the privilege for raw sockets it says so once per range, and the balancer
/// runs on without them.
final class PassiveRangeWatches: Sendable {
    #if os(Linux)
    private let running = NIOLockedValueBox<[PassiveRangeWatch.Key: PassiveRangeWatch]>([:])
    #endif
    private let warned = NIOLockedValueBox<Set<String>>([])
    /// While an upgrade's old process still serves its data connections on the same ranges,
    /// their SYNs would all count as misrouted here: the services to watch once it has exited.
    private let held = NIOLockedValueBox<[VirtualService]?>(nil)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Watches nothing until `resume`.
    func hold() {
        self.held.withLockedValue { $0 = $0 ?? [] }
    }

    /// Starts the watches `reconcile` asked for since `hold`.
    func resume() {
        let services = self.held.withLockedValue { held in
            defer { held = nil }
            return held
        }
        guard let services else { return }
        self.reconcile(services)
    }

    /// Watches the ranges of `services` and only those.
    func reconcile(_ services: [VirtualService]) {
        let holding = self.held.withLockedValue { held in
            if held != nil { held = services }
            return held != nil
        }
        guard !holding else { return }
        #if os(Linux)
        var wanted: [PassiveRangeWatch.Key: VirtualService] = [:]
        for service in services {
            let key = PassiveRangeWatch.Key(
                address: service.configuration.advertisedAddress,
                range: service.passivePorts.range
            )
            if wanted[key] == nil { wanted[key] = service }
        }
        let stale = self.running.withLockedValue { running in
            let stale = running.filter { wanted[$0.key] == nil }
            for key in stale.keys { running[key] = nil }
            return Array(stale.values)
        }
        for watch in stale { watch.stop() }
        let known = self.running.withLockedValue { Set($0.keys) }
        for (key, service) in wanted where !known.contains(key) {
            self.start(key, for: service)
        }
        #endif
    }

    func stopAll() {
        #if os(Linux)
        let all = self.running.withLockedValue { running in
            defer { running = [:] }
            return Array(running.values)
        }
        for watch in all { watch.stop() }
        #endif
    }

    #if os(Linux)
    private func start(_ key: PassiveRangeWatch.Key, for service: VirtualService) {
        let range = "\(key.address) \(key.range.lowerBound)-\(key.range.upperBound)"
        do {
            guard
                let watch = try PassiveRangeWatch(
                    key: key,
                    ports: service.passivePorts,
                    misrouted: service.statistics.misrouted,
                    logger: self.logger
                )
            else { return }
            try watch.start()
            self.running.withLockedValue { $0[key] = watch }
        } catch {
            guard self.warned.withLockedValue({ $0.insert(range).inserted }) else { return }
            self.logger.notice(
                """
                connection attempts to closed passive ports cannot be watched (it needs CAP_NET_RAW); \
                misrouted data connections are counted only where they reach another client's open port
                """,
                metadata: ["ftp.service": "\(service.name)", "ftp.passive_ports": "\(range)", "ftp.error": "\(OperatorText.describe(error))"]
            )
        }
    }
    #endif
}
