extension ConfigurationValidator {
    /// Health-check keys that only some check types use, with those types. A key given for a
    /// type that ignores it is refused: it is likelier a mistyped type than a harmless extra.
    static let healthCheckKeyUsers: [(key: String, kinds: [HealthCheckKind])] = [
        ("user", [.ftpLogin, .ftpTransfer]),
        ("password", [.ftpLogin, .ftpTransfer]),
        ("file", [.ftpTransfer]),
        ("mode", [.ftpTransfer]),
        ("size", [.ftpTransfer]),
    ]

    /// Backups take sessions only while no primary server is up: a pool of backups alone would
    /// never take one.
    static func validatePrimaryServer(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        guard draft.servers.contains(where: { !$0.configuration.backup }) else {
            throw draft.serversLocation.error(
                .invalidValue,
                "every server of the pool is a backup; at least one must be a primary server (backup: false), "
                    + "because backups take sessions only while no primary server is up"
            )
        }
    }

    /// The keys a check type needs are there, the keys it ignores are not, and one check of a
    /// server ends before the next begins.
    static func validateHealthCheck(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        let check = draft.healthCheck
        let kind = check.configuration.kind
        for (key, kinds) in Self.healthCheckKeyUsers where !kinds.contains(kind) {
            guard let location = check.written[key] else {
                continue
            }
            let users = Self.list(kinds.map(\.rawValue))
            throw location.error(
                .invalidValue,
                "'\(key)' is used only by health check \(kinds.count == 1 ? "type" : "types") \(users), "
                    + "not by type \(kind.rawValue); remove it or correct the type"
            )
        }
        let needed: [String]
        switch kind {
        case .ftpLogin: needed = ["user", "password"]
        case .ftpTransfer: needed = ["user", "password", "file"]
        case .none, .tcp, .ftp: needed = []
        }
        for key in needed where check.written[key] == nil {
            throw check.location(of: key).error(
                .missingKey,
                "missing key '\(key)': health check type \(kind.rawValue) needs \(Self.list(needed))"
            )
        }
        let interval = check.configuration.interval
        let timeout = check.configuration.timeout
        // With no checks, the timing is moot: a default timeout must not refuse a short interval.
        guard kind == .none || timeout <= interval else {
            let reason = "so that checks of one server never overlap"
            if let location = check.written["timeout"] {
                throw location.error(
                    .invalidValue,
                    "timeout \(Self.seconds(timeout)) is longer than interval \(Self.seconds(interval)); "
                        + "expected at most the interval, \(reason)"
                )
            }
            throw check.location(of: "interval").error(
                .invalidValue,
                "interval \(Self.seconds(interval)) is shorter than the default timeout \(Self.seconds(timeout)); "
                    + "set timeout to at most the interval, \(reason)"
            )
        }
    }

    /// `per_user` belongs to `algorithm: per_user`, and each user it maps goes to a server of
    /// this pool, by name (or by the address as written, for a server without one).
    static func validateUserRouting(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        if draft.algorithm == .perUser, let location = draft.greetingLocation {
            throw location.error(
                .invalidValue,
                "algorithm per_user greets with per_user.greeting; move the text there or remove greeting"
            )
        }
        guard let routing = draft.userRouting else {
            return
        }
        guard draft.algorithm == .perUser else {
            let algorithm =
                draft.algorithmLocation.map { "\($0.reference) is \(draft.algorithm.rawValue)" }
                ?? "the algorithm is \(draft.algorithm.rawValue) (the default)"
            throw routing.location.error(
                .invalidValue,
                "per_user is used only with algorithm: per_user, but \(algorithm); "
                    + "set algorithm: per_user or remove per_user"
            )
        }
        let names = draft.servers.map(\.configuration.name)
        for route in routing.routes where !names.contains(route.server) {
            throw route.location.error(
                .invalidValue,
                "user '\(route.user)' is mapped to '\(route.server)', which is not a server of this pool; "
                    + "expected one of \(names.joined(separator: ", "))"
            )
        }
    }

    /// `a`, `a and b`, `a, b and c`.
    static func list(_ words: [String]) -> String {
        guard words.count > 1 else {
            return words.first ?? ""
        }
        return words.dropLast().joined(separator: ", ") + " and " + words[words.count - 1]
    }

    static func seconds(_ duration: Duration) -> String {
        VirtualServiceConfiguration.seconds(duration)
    }
}

extension ConfigurationValidator {
    /// `pasv` and `port` can only name IPv4 addresses: a pool with an IPv6 server needs another.
    static func validateDataTransferPolicy(of draft: VirtualServiceDraft) throws(ConfigurationError) {
        let policy = draft.dataTransferPolicy
        guard policy.needsIPv4Servers else { return }
        for server in draft.servers where server.address.family == .v6 {
            let instead = policy == .pasv ? "epsv or passive" : "eprt or active"
            throw server.location.error(
                .invalidValue,
                "server \(server.configuration.address) is IPv6, but data_transfer_policy \(policy.rawValue) "
                    + "can only name IPv4 addresses; use \(instead) instead"
            )
        }
    }
}
