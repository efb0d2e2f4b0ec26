import FTPProtocol

extension ConfigurationLoader {
    /// One listen address, or a list of them for one service on several addresses (IPv4 and
    /// IPv6, typically), each with its place in the file.
    static func listens(
        _ node: ConfigurationNode
    ) throws(ConfigurationError) -> [(endpoint: Endpoint, address: IPAddress, location: ConfigurationLocation)] {
        guard case .sequence = node.node else {
            let listen = try node.value(ConfigurationValueParser.endpoint)
            return [(listen.endpoint, listen.address, node.location)]
        }
        let items = try node.sequence()
        guard !items.isEmpty else {
            throw node.error(.invalidValue, "expected a listen address, or a list of them; found an empty list")
        }
        var listens: [(endpoint: Endpoint, address: IPAddress, location: ConfigurationLocation)] = []
        for item in items {
            let text = try item.scalar()
            // `listen: [2001:db8::1]` is a YAML flow list holding a bare IPv6 address.
            if !text.hasPrefix("["), IPAddress(text)?.family == .v6 {
                throw node.error(
                    .invalidValue,
                    "'\(text)' is not an endpoint; if this is an IPv6 endpoint, put it in quotes, as \"[::1]:21\""
                )
            }
            let listen = try item.value(ConfigurationValueParser.endpoint)
            listens.append((listen.endpoint, listen.address, item.location))
        }
        return listens
    }

    /// `advertise`: one address, or one per address family as a list.
    static func advertise(_ node: ConfigurationNode?) throws(ConfigurationError) -> [IPAddress] {
        guard let node else { return [] }
        guard case .sequence = node.node else {
            return [try node.value(ConfigurationValueParser.ipAddress)]
        }
        let items = try node.sequence()
        guard (1...2).contains(items.count) else {
            throw node.error(
                .invalidValue,
                "expected one address, or a list of one per address family (IPv4 and IPv6); found \(items.count)"
            )
        }
        var addresses: [IPAddress] = []
        for item in items {
            addresses.append(try item.value(ConfigurationValueParser.ipAddress))
        }
        return addresses
    }
}

extension ConfigurationValueParser {
    static func dataTransferPolicy(_ text: String) throws(ValueProblem) -> DataTransferPolicy {
        try Self.choice(text)
    }
}
