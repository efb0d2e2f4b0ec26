import FTPBalancerConfig
import NIOConcurrencyHelpers
import NIOCore

/// A virtual service as it runs: its configuration, its pool and its passive ports. A reload
/// makes a new one; sessions keep the one they started with, and share its pool and ports with
/// its successor.
package final class VirtualService: Sendable {
    package let configuration: VirtualServiceConfiguration
    package let pool: ServerPool
    package let passivePorts: PassivePortAllocator
    /// Carried over by name across reloads, like the pool.
    package let statistics: ServiceStatistics
    /// `tls:`, loaded: read again from its files at every reload.
    package let tls: ClientTLSContext?
    /// `server_tls:`, loaded likewise.
    package let serverTLS: ServerTLSContext?

    package init(
        configuration: VirtualServiceConfiguration,
        pool: ServerPool,
        passivePorts: PassivePortAllocator,
        statistics: ServiceStatistics = ServiceStatistics(),
        tls: ClientTLSContext? = nil,
        serverTLS: ServerTLSContext? = nil
    ) {
        self.configuration = configuration
        self.pool = pool
        self.passivePorts = passivePorts
        self.statistics = statistics
        self.tls = tls
        self.serverTLS = serverTLS
    }

    /// The service's certificates and keys, or why they cannot be used, naming the file.
    package static func loadTLS(_ configuration: VirtualServiceConfiguration) throws(BalancerError) -> ClientTLSContext? {
        guard let tls = configuration.tls else { return nil }
        do {
            return try ClientTLSContext.load(tls)
        } catch {
            throw BalancerError(.tlsUnavailable, "virtual service \(configuration.name): TLS: \(error)")
        }
    }

    package var name: String { self.configuration.name }
}

/// The virtual service a listener hands its new sessions to; a reload swaps it.
final class VirtualServiceSlot: Sendable {
    private let current: NIOLockedValueBox<VirtualService>

    init(_ service: VirtualService) {
        self.current = NIOLockedValueBox(service)
    }

    var service: VirtualService {
        get { self.current.withLockedValue { $0 } }
        set { self.current.withLockedValue { $0 = newValue } }
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = self.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
