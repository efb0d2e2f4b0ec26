import FTPProtocol

extension ConfigurationLoader {
    static let adminKeys = ["listen", "token"]

    /// The `admin` section: `listen` (ADDRESS:PORT or `none`) and `token`. A listener beyond
    /// loopback without a token is refused: whoever reaches it could disable every server.
    static func admin(
        _ node: ConfigurationNode?,
        services: [VirtualServiceConfiguration]
    ) throws(ConfigurationError) -> AdminConfiguration {
        var admin = AdminConfiguration()
        guard let node else {
            return admin
        }
        let fields = try node.mapping(allowedKeys: Self.adminKeys)
        admin.token = try fields.optional("token", ConfigurationValueParser.adminToken)
        // The default listener is loopback: no token needed.
        guard let listenNode = fields["listen"] else {
            return admin
        }
        let listen = try listenNode.value(ConfigurationValueParser.adminListen)
        admin.listen = listen?.endpoint
        admin.mustListen = listen != nil
        if let listen {
            if !listen.address.isLoopback, admin.token == nil {
                throw listenNode.error(
                    .missingKey,
                    "the admin API on \(listen.endpoint) would be reachable from other hosts without a token; "
                        + "set admin.token (at least \(ConfigurationValueParser.adminTokenMinimum) characters), "
                        + "or listen on a loopback address such as \(AdminConfiguration.defaultListen)"
                )
            }
            for service in services where service.listen.port == listen.endpoint.port {
                guard let other = IPAddress(service.listen.host),
                    other == listen.address
                        || (other.family == listen.address.family && (other.isWildcard || listen.address.isWildcard))
                else { continue }
                throw listenNode.error(
                    .duplicate,
                    "\(listen.endpoint) clashes with \(service.listen) of virtual service '\(service.name)'"
                )
            }
        }
        return admin
    }
}

extension ConfigurationValueParser {
    static let adminTokenMinimum = 16
    static let adminTokenMaximum = 256

    /// `ADDRESS:PORT` with the port written out (21 would be a surprising default here), or
    /// `none` to switch the API off (nil).
    static func adminListen(_ text: String) throws(ValueProblem) -> (endpoint: Endpoint, address: IPAddress)? {
        if text == "none" {
            return nil
        }
        let hasPort = text.hasPrefix("[") ? text.contains("]:") : text.contains(":")
        guard hasPort else {
            throw ValueProblem("expected ADDRESS:PORT such as 127.0.0.1:9021, or none; found '\(text)' without a port")
        }
        return try Self.endpoint(text)
    }

    /// Printable ASCII without spaces, so that it fits an `Authorization: Bearer` header as is.
    /// Never repeated in a message.
    static func adminToken(_ text: String) throws(ValueProblem) -> String {
        let range = "\(Self.adminTokenMinimum) to \(Self.adminTokenMaximum)"
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ValueProblem("expected a token of \(range) printable ASCII characters without spaces")
        }
        guard (Self.adminTokenMinimum...Self.adminTokenMaximum).contains(text.utf8.count) else {
            throw ValueProblem("expected a token of \(range) characters; found \(text.utf8.count)")
        }
        return text
    }
}

extension IPAddress {
    /// 127.0.0.0/8, ::1, or an IPv4-mapped loopback address: reachable from this host only.
    var isLoopback: Bool {
        switch self.family {
        case .v4:
            return self.bytes[0] == 127
        case .v6:
            let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
            if Array(self.bytes[..<12]) == mappedPrefix {
                return self.bytes[12] == 127
            }
            return self.bytes == Array(repeating: 0, count: 15) + [1]
        }
    }
}
