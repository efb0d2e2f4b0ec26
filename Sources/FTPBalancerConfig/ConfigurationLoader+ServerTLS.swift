extension ConfigurationLoader {
    static let serverTLSKeys = ["mode", "protection", "ca", "verify"]

    /// The `server_tls` section of a virtual service; nil when absent or `mode: off`.
    /// `match_client` and `protection: client` follow the client's TLS, so they need `tls:`.
    static func serverTLS(
        _ node: ConfigurationNode?,
        clientTLS: Bool
    ) throws(ConfigurationError) -> ServerTLSConfiguration? {
        guard let node else { return nil }
        let fields = try node.mapping(allowedKeys: Self.serverTLSKeys)
        let modeNode = try fields.required("mode")
        guard let mode = try modeNode.value(ConfigurationValueParser.serverTLSMode) else { return nil }
        let configuration = ServerTLSConfiguration(
            mode: mode,
            protection: try fields.optional("protection", ConfigurationValueParser.serverTLSProtection) ?? .required,
            caFile: try fields.optional("ca", ConfigurationValueParser.filePath),
            verify: try fields.optional("verify", ConfigurationValueParser.boolean) ?? true
        )
        if configuration.followsClient, !clientTLS {
            let (key, value) =
                mode == .matchClient ? ("mode", "match_client") : ("protection", "client")
            throw (fields[key] ?? node).error(
                .invalidValue,
                "\(value) follows the client's TLS, but this service has no tls: section for its clients"
            )
        }
        return configuration
    }
}

extension ConfigurationValueParser {
    /// nil for `off`.
    static func serverTLSMode(_ text: String) throws(ValueProblem) -> ServerTLSConfiguration.Mode? {
        if text == "off" { return nil }
        guard let mode = ServerTLSConfiguration.Mode(rawValue: text) else {
            throw ValueProblem("expected one of off, explicit, implicit, match_client; found '\(text)'")
        }
        return mode
    }

    static func serverTLSProtection(_ text: String) throws(ValueProblem) -> ServerTLSConfiguration.Protection {
        try Self.choice(text)
    }

    static func filePath(_ text: String) throws(ValueProblem) -> String {
        guard !text.isEmpty, !text.contains("\0") else { throw ValueProblem("expected a file path") }
        return text
    }
}
