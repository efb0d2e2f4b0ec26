import FTPBalancerConfig
import NIOCore

/// A virtual service as it runs: its configuration, its pool and its passive ports.
package final class VirtualService: Sendable {
    package let configuration: VirtualServiceConfiguration
    package let pool: ServerPool
    package let passivePorts: PassivePortAllocator

    package init(configuration: VirtualServiceConfiguration) {
        self.configuration = configuration
        self.pool = ServerPool(servers: configuration.servers)
        self.passivePorts = PassivePortAllocator(range: configuration.passivePorts)
    }

    package var name: String { self.configuration.name }
}

extension Duration {
    /// The same span as NIO's `TimeAmount`.
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = self.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
