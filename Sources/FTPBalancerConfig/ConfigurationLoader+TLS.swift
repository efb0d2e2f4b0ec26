extension ConfigurationLoader {
    static let tlsKeys = [
        "mode", "certificate", "private_key", "sni", "min_version", "ciphers", "require", "session_reuse",
    ]
    static let tlsIdentityKeys = ["certificate", "private_key"]

    /// A virtual service's `tls` section: `mode`, `certificate` and `private_key` (required),
    /// `sni`, `min_version`, `ciphers`, `require` and `session_reuse`. Only the text is read
    /// here; whether the files hold a certificate and its key is checked by the balancer, which
    /// links the TLS library.
    static func tls(_ node: ConfigurationNode?) throws(ConfigurationError) -> ClientTLSConfiguration? {
        guard let node else {
            return nil
        }
        let fields = try node.mapping(allowedKeys: Self.tlsKeys)
        let parse = ConfigurationValueParser.self
        let mode = try fields.required("mode").value(parse.tlsMode)
        var tls = ClientTLSConfiguration(mode: mode, identity: try Self.tlsIdentity(fields))
        if let sni = fields["sni"] {
            let items = try sni.sequence()
            guard !items.isEmpty else {
                throw sni.error(.invalidValue, "expected at least one certificate; leave sni out for none")
            }
            for item in items {
                tls.sniIdentities.append(try Self.tlsIdentity(try item.mapping(allowedKeys: Self.tlsIdentityKeys)))
            }
        }
        tls.minVersion = try fields.optional("min_version", parse.tlsVersion) ?? tls.minVersion
        tls.ciphers = try fields.optional("ciphers", parse.tlsCipherList)
        if tls.ciphers != nil, tls.minVersion == .tls13 {
            // The list would be silently ignored: TLS 1.3 suites are not configurable.
            throw fields.location(of: "ciphers").error(
                .invalidValue,
                "ciphers applies to TLS 1.2 only, but min_version is 1.3; remove ciphers or set min_version: \"1.2\""
            )
        }
        tls.require = try fields.optional("require", parse.tlsRequirement) ?? tls.require
        tls.sessionReuse = try fields.optional("session_reuse", parse.tlsSessionReuse) ?? tls.sessionReuse
        return tls
    }

    /// `certificate` and `private_key` of a mapping: the `tls` section itself, or an `sni` entry.
    private static func tlsIdentity(
        _ fields: ConfigurationNode.Mapping
    ) throws(ConfigurationError) -> ClientTLSConfiguration.Identity {
        ClientTLSConfiguration.Identity(
            certificateFile: try fields.required("certificate").value(ConfigurationValueParser.tlsFilePath),
            privateKeyFile: try fields.required("private_key").value(ConfigurationValueParser.tlsFilePath)
        )
    }

    /// `ftplb run --tls-cert FILE --tls-key FILE [--tls-implicit]`: the quick form's `tls`
    /// section, with the other keys at their defaults; nil when no TLS flag is given.
    package static func tlsFlags(
        certificate: String?,
        privateKey: String?,
        implicit: Bool
    ) throws(ConfigurationError) -> ClientTLSConfiguration? {
        switch (certificate, privateKey) {
        case (nil, nil):
            guard !implicit else {
                throw ConfigurationLocation.flag("--tls-implicit").error(
                    .missingKey,
                    "implicit FTPS needs a certificate: add --tls-cert FILE and --tls-key FILE"
                )
            }
            return nil
        case (.some, nil):
            throw ConfigurationLocation.flag("--tls-key").error(
                .missingKey,
                "--tls-cert needs --tls-key FILE, the private key of that certificate"
            )
        case (nil, .some):
            throw ConfigurationLocation.flag("--tls-cert").error(
                .missingKey,
                "--tls-key needs --tls-cert FILE, the certificate chain that key belongs to"
            )
        case (.some(let certificate), .some(let privateKey)):
            let identity = ClientTLSConfiguration.Identity(
                certificateFile: try Self.tlsFlagPath("--tls-cert", certificate),
                privateKeyFile: try Self.tlsFlagPath("--tls-key", privateKey)
            )
            return ClientTLSConfiguration(mode: implicit ? .implicit : .explicit, identity: identity)
        }
    }

    private static func tlsFlagPath(_ flag: String, _ text: String) throws(ConfigurationError) -> String {
        do {
            return try ConfigurationValueParser.tlsFilePath(text)
        } catch {
            throw ConfigurationLocation.flag(flag).error(.invalidValue, error.message)
        }
    }
}

extension ConfigurationValueParser {
    static func tlsMode(_ text: String) throws(ValueProblem) -> ClientTLSConfiguration.Mode {
        try Self.choice(text)
    }

    /// `"1.2"` or `"1.3"`. YAML reads an unquoted 1.2 as a number, whose text is the same.
    static func tlsVersion(_ text: String) throws(ValueProblem) -> ClientTLSConfiguration.Version {
        do {
            return try Self.choice(text)
        } catch {
            throw ValueProblem("expected \"1.2\" or \"1.3\" (older TLS versions are not offered); found '\(text)'")
        }
    }

    static func tlsRequirement(_ text: String) throws(ValueProblem) -> ClientTLSConfiguration.Requirement {
        try Self.choice(text)
    }

    static func tlsSessionReuse(_ text: String) throws(ValueProblem) -> ClientTLSConfiguration.SessionReuse {
        try Self.choice(text)
    }

    /// An absolute file path: a relative one would depend on where the balancer was started.
    static func tlsFilePath(_ text: String) throws(ValueProblem) -> String {
        guard text.hasPrefix("/") else {
            throw ValueProblem("expected an absolute file path such as /etc/ftplb/ftps.pem; found '\(text)'")
        }
        guard !text.hasSuffix("/"), !text.utf8.contains(0) else {
            throw ValueProblem("expected a file path, not a directory; found '\(text)'")
        }
        return text
    }

    /// The shape of an OpenSSL cipher list (`ECDHE+AESGCM:!aNULL`); which names the TLS library
    /// knows is checked where it is linked.
    static func tlsCipherList(_ text: String) throws(ValueProblem) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-!:@=_., ")
        guard !text.isEmpty, text.count <= 1024, text.allSatisfy({ allowed.contains($0) }) else {
            throw ValueProblem(
                "expected an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20 "
                    + "(letters, digits and + - ! : @ = _ . , only); found '\(text)'"
            )
        }
        return text
    }
}
