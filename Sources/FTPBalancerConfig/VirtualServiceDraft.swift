import FTPProtocol

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

    /// The health checks as read, with where each key was written: which keys were given
    /// matters as much as their values, since a `user` under `type: tcp` is a typo to report.
    struct HealthCheck {
        var configuration: HealthCheckConfiguration
        /// The `health_check` section, or where it would be; the flag for the quick form.
        var location: ConfigurationLocation
        /// The keys written in the section.
        var written: [String: ConfigurationLocation]

        /// Where `key` is, or would be: a missing key is reported on the line of the section.
        func location(of key: String) -> ConfigurationLocation {
            self.written[key] ?? self.location.child(key)
        }
    }

    /// The `per_user` section as read: the map keeps its order, so that the first wrong entry
    /// in the file is the one reported.
    struct UserRouting {
        /// One `user: server` entry.
        struct Route {
            var user: String
            var server: String
            var location: ConfigurationLocation
        }

        var greeting: String
        var routes: [Route]
        /// The `per_user` key.
        var location: ConfigurationLocation

        var configuration: UserRoutingConfiguration {
            var users: [String: String] = [:]
            for route in self.routes {
                users[route.user] = route.server
            }
            return UserRoutingConfiguration(greeting: self.greeting, users: users)
        }
    }

    /// One more entry of a `listen` list.
    struct Listener {
        var endpoint: Endpoint
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
    var serversLocation: ConfigurationLocation
    var timeouts: TimeoutConfiguration
    var algorithm: BalancingAlgorithm
    /// Where `algorithm` is written; nil when it is left at its default.
    var algorithmLocation: ConfigurationLocation?
    /// The `per_user` section; nil when there is none, which `algorithm: per_user` allows.
    var userRouting: UserRouting?
    var healthCheck: HealthCheck
    var limits: SessionLimitConfiguration
    var unavailableMessage: String
    /// `greeting`: the balancer's own 220 before USER; nil when the server greets.
    var greeting: String? = nil
    var greetingLocation: ConfigurationLocation? = nil
    var clientAddress: ClientAddressMode
    var listenFreebind: Bool = false
    /// The second and later entries of a `listen` list.
    var otherListens: [Listener] = []
    /// The second entry of an `advertise` list: the address for the other family.
    var otherAdvertise: IPAddress? = nil
    var dataTransferPolicy: DataTransferPolicy = .client
    var dataTransferPolicyLocation: ConfigurationLocation? = nil
    var tls: ClientTLSConfiguration? = nil
    /// `server_tls`, as read: nothing in it spans other values.
    var serverTLS: ServerTLSConfiguration? = nil

    /// Every listen address, `listen` (or the first of its list) first.
    var listenAddresses: [(endpoint: Endpoint, address: IPAddress, location: ConfigurationLocation)] {
        [(self.listen, self.listenAddress, self.listenLocation)]
            + self.otherListens.map { ($0.endpoint, $0.address, $0.location) }
    }

    /// The `advertise` entries, one per family at most once validated.
    var advertiseAddresses: [IPAddress] { [self.advertise, self.otherAdvertise].compactMap { $0 } }

    /// The address clients of a listener on `address` are told to connect to: the `advertise`
    /// entry of its family, else its own; nil for a wildcard with no such entry.
    func advertisedAddress(for address: IPAddress) -> IPAddress? {
        self.advertiseAddresses.first { $0.family == address.family } ?? (address.isWildcard ? nil : address)
    }

    /// The address clients of the first listener are told to connect to.
    var advertisedAddress: IPAddress? { self.advertisedAddress(for: self.listenAddress) }

    /// Every address written into passive replies, on which passive ports are opened.
    var advertisedAddresses: Set<IPAddress> {
        Set(self.listenAddresses.compactMap { self.advertisedAddress(for: $0.address) })
    }

    /// The model the balancer runs; call after `ConfigurationValidator` has accepted the draft.
    func configuration() -> VirtualServiceConfiguration {
        var configuration = VirtualServiceConfiguration(
            name: self.name,
            listen: self.listen,
            advertisedAddress: self.advertisedAddress?.text ?? self.listen.host,
            passivePorts: self.passivePorts,
            sourceAddress: self.sourceAddress?.text,
            activeSourcePort: self.activeSourcePort,
            servers: self.servers.map(\.configuration),
            timeouts: self.timeouts,
            algorithm: self.algorithm,
            userRouting: self.userRouting?.configuration ?? UserRoutingConfiguration(),
            healthCheck: self.healthCheck.configuration,
            limits: self.limits,
            unavailableMessage: self.unavailableMessage,
            greeting: self.greeting,
            clientAddress: self.clientAddress,
            listenFreebind: self.listenFreebind,
            otherListeners: self.otherListens.map { listener in
                ListenerConfiguration(
                    endpoint: listener.endpoint,
                    advertisedAddress: self.advertisedAddress(for: listener.address)?.text ?? listener.endpoint.host
                )
            },
            dataTransferPolicy: self.dataTransferPolicy,
            tls: self.tls
        )
        configuration.serverTLS = self.serverTLS
        return configuration
    }
}
