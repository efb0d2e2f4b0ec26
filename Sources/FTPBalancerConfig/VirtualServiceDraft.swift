/// A virtual service as read from the file or the flags, before the checks that span several
/// values: it keeps the parsed addresses and where each value came from, so that those checks
/// can point at the right line.
struct VirtualServiceDraft {
    /// One server of the pool, with its parsed address and its place in the configuration.
    struct Server {
        var configuration: ServerConfiguration
        var address: IPAddress
        var location: ConfigurationLocation
    }

    var name: String
    var nameLocation: ConfigurationLocation
    var listen: Endpoint
    var listenAddress: IPAddress
    var listenLocation: ConfigurationLocation
    var advertise: IPAddress?
    /// Where `advertise` is, or where it is missing from.
    var advertiseLocation: ConfigurationLocation
    var passivePorts: ClosedRange<Int>
    var passivePortsLocation: ConfigurationLocation
    var sourceAddress: IPAddress?
    var sourceAddressLocation: ConfigurationLocation
    var activeSourcePort: Int
    var servers: [Server]
    var timeouts: TimeoutConfiguration

    /// The address clients are told to connect to; nil until a wildcard listen is given one.
    var advertisedAddress: IPAddress? {
        self.advertise ?? (self.listenAddress.isWildcard ? nil : self.listenAddress)
    }

    /// The model the balancer runs; call after `ConfigurationValidator` has accepted the draft.
    func configuration() -> VirtualServiceConfiguration {
        VirtualServiceConfiguration(
            name: self.name,
            listen: self.listen,
            advertisedAddress: self.advertisedAddress?.text ?? self.listen.host,
            passivePorts: self.passivePorts,
            sourceAddress: self.sourceAddress?.text,
            activeSourcePort: self.activeSourcePort,
            servers: self.servers.map(\.configuration),
            timeouts: self.timeouts
        )
    }
}
