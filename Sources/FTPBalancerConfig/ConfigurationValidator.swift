import FTPProtocol

/// The checks that look at more than one value: advertised addresses, address families,
/// duplicates within a pool, the pool settings that depend on each other and clashes between
/// virtual services. Both the YAML file and the
/// quick command-line form go through here, so they refuse the same things.
enum ConfigurationValidator {
    /// Checks every draft, then the drafts against each other; returns the running model.
    static func validate(_ drafts: [VirtualServiceDraft]) throws(ConfigurationError) -> [VirtualServiceConfiguration] {
        for draft in drafts {
            try Self.validateAddresses(of: draft)
            try Self.validatePool(of: draft)
            try Self.validatePrimaryServer(of: draft)
            try Self.validateHealthCheck(of: draft)
            try Self.validateUserRouting(of: draft)
        }
        try Self.validateUniqueNames(drafts)
        try Self.validateUniqueListeners(drafts)
        try Self.validatePassivePorts(drafts)
        return drafts.map { $0.configuration() }
    }

    /// Each advertised address must be one a client can reach, of the family of a listener, at
    /// most one per family; servers must be reachable from the source address.
    static func validateAddresses(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        // `listen`, not `listen[0]`: the message is about the key.
        let listenKey = String(draft.listenLocation.key.prefix { $0 != "[" })
        let listens = draft.listenAddresses
        var advertisedFamilies: Set<IPAddress.Family> = []
        for advertise in draft.advertiseAddresses {
            guard !advertise.isWildcard else {
                throw draft.advertiseLocation.error(
                    .invalidValue,
                    "\(advertise) is a wildcard address, which clients cannot connect to; give the address clients use"
                )
            }
            guard listens.contains(where: { $0.address.family == advertise.family }) else {
                let written = listens.map(\.endpoint.description).joined(separator: ", ")
                let family = listens.count == 1 ? draft.listenAddress.family.rawValue : "of another family"
                throw draft.advertiseLocation.error(
                    .invalidValue,
                    "\(advertise) is \(advertise.family.rawValue) but \(listenKey) \(written) is "
                        + "\(family); both must be of the same family"
                )
            }
            guard advertisedFamilies.insert(advertise.family).inserted else {
                throw draft.advertiseLocation.error(
                    .duplicate,
                    "two \(advertise.family.rawValue) addresses; give at most one per address family"
                )
            }
        }
        for listen in listens where draft.advertisedAddress(for: listen.address) == nil {
            throw draft.advertiseLocation.error(
                .missingKey,
                "required because \(listenKey) \(listen.endpoint) is a wildcard address: "
                    + "passive replies must tell clients a real address"
            )
        }
        if let source = draft.sourceAddress {
            for server in draft.servers where server.address.family != source.family {
                throw server.location.error(
                    .invalidValue,
                    "server \(server.configuration.address) is \(server.address.family.rawValue) but "
                        + "\(draft.sourceAddressLocation.key) \(source) is \(source.family.rawValue); "
                        + "connections to it could not come from there"
                )
            }
        }
        try Self.validateDataTransferPolicy(of: draft)
    }

    /// A server listed twice would get twice the share of clients, which is never what was meant.
    static func validatePool(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        var addresses: [ServerKey: ConfigurationLocation] = [:]
        var names: [String: ConfigurationLocation] = [:]
        for server in draft.servers {
            let key = ServerKey(address: server.address, port: server.configuration.address.port)
            if let first = addresses[key] {
                throw server.location.error(
                    .duplicate,
                    "server \(server.configuration.address) appears twice in the pool" + Self.firstAt(first)
                )
            }
            addresses[key] = server.location
            if let first = names[server.configuration.name] {
                throw server.location.error(
                    .duplicate,
                    "server name '\(server.configuration.name)' appears twice in the pool" + Self.firstAt(first)
                )
            }
            names[server.configuration.name] = server.location
        }
    }

    static func validateUniqueNames(_ drafts: [VirtualServiceDraft]) throws(ConfigurationError) {
        var names: [String: ConfigurationLocation] = [:]
        for draft in drafts {
            if let first = names[draft.name] {
                throw draft.nameLocation.error(
                    .duplicate,
                    "virtual service name '\(draft.name)' is already used" + Self.firstAt(first)
                )
            }
            names[draft.name] = draft.nameLocation
        }
    }

    /// Two listeners on one port clash when their addresses are equal, or when one is the
    /// wildcard of the other's family: the wildcard takes the port on every address. A service's
    /// own listeners count too.
    static func validateUniqueListeners(_ drafts: [VirtualServiceDraft]) throws(ConfigurationError) {
        var seen: [(endpoint: Endpoint, address: IPAddress, location: ConfigurationLocation, service: String)] = []
        for draft in drafts {
            for listen in draft.listenAddresses {
                for earlier in seen where earlier.endpoint.port == listen.endpoint.port {
                    let a = earlier.address
                    let b = listen.address
                    guard a == b || (a.family == b.family && (a.isWildcard || b.isWildcard)) else {
                        continue
                    }
                    throw listen.location.error(
                        .duplicate,
                        "\(listen.endpoint) clashes with \(earlier.endpoint) of virtual service '\(earlier.service)'"
                            + Self.firstAt(earlier.location)
                    )
                }
                seen.append((listen.endpoint, listen.address, listen.location, draft.name))
            }
        }
    }

    /// Passive ports are handed out per advertised address; two services sharing an address
    /// must not hand out the same port.
    static func validatePassivePorts(_ drafts: [VirtualServiceDraft]) throws(ConfigurationError) {
        for (index, draft) in drafts.enumerated() {
            for earlier in drafts[..<index]
            where !earlier.advertisedAddresses.isDisjoint(with: draft.advertisedAddresses)
                && earlier.passivePorts.overlaps(draft.passivePorts)
            {
                let shared = earlier.advertisedAddresses.intersection(draft.advertisedAddresses).map(\.text).sorted()
                throw draft.passivePortsLocation.error(
                    .duplicate,
                    "passive ports \(Self.range(draft.passivePorts)) overlap "
                        + "\(Self.range(earlier.passivePorts)) of virtual service '\(earlier.name)' "
                        + "on the same advertised address \(shared.joined(separator: ", "))"
                        + Self.firstAt(earlier.passivePortsLocation)
                )
            }
        }
    }

    private struct ServerKey: Hashable {
        var address: IPAddress
        var port: Int
    }

    private static func range(_ range: ClosedRange<Int>) -> String {
        "\(range.lowerBound)-\(range.upperBound)"
    }

    /// `; first at virtual_services[0].name (line 3)` when the earlier place is in a file; the
    /// command line has nothing more precise to say than the flag the error already names.
    private static func firstAt(_ location: ConfigurationLocation) -> String {
        location.line == nil ? "" : "; first at \(location.reference)"
    }
}
