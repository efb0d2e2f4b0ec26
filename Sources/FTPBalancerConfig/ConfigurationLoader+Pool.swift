extension ConfigurationLoader {
    static let serverOptionKeys = ["weight", "max_sessions", "backup", "state"]
    static let limitKeys = ["max_sessions", "max_sessions_per_client", "max_unauthenticated_per_client"]
    static let healthCheckKeys = [
        "type", "interval", "timeout", "rise", "fall", "user", "password", "file", "mode", "size",
    ]
    static let userRoutingKeys = ["greeting", "users"]

    /// The keys of a server mapping besides `name` and `address`; absent keys keep the model's
    /// defaults.
    static func applyServerOptions(
        _ fields: ConfigurationNode.Mapping,
        to server: inout ServerConfiguration
    ) throws(ConfigurationError) {
        server.weight = try fields.optional("weight", ConfigurationValueParser.weight) ?? server.weight
        server.maxSessions = try fields.optional("max_sessions", ConfigurationValueParser.sessionCount)
        server.backup = try fields.optional("backup", ConfigurationValueParser.boolean) ?? server.backup
        server.state = try fields.optional("state", ConfigurationValueParser.serverState) ?? server.state
    }

    static func limits(_ node: ConfigurationNode?) throws(ConfigurationError) -> SessionLimitConfiguration {
        guard let node else {
            return SessionLimitConfiguration()
        }
        let fields = try node.mapping(allowedKeys: Self.limitKeys)
        return SessionLimitConfiguration(
            maxSessions: try fields.optional("max_sessions", ConfigurationValueParser.sessionCount),
            maxSessionsPerClient: try fields.optional("max_sessions_per_client", ConfigurationValueParser.sessionCount),
            maxUnauthenticatedPerClient: try fields.optional(
                "max_unauthenticated_per_client",
                ConfigurationValueParser.sessionCount
            )
        )
    }

    /// Reads each key on its own; which keys the type needs, and timeout against interval, are
    /// `ConfigurationValidator`'s business.
    static func healthCheck(
        _ node: ConfigurationNode?,
        location: ConfigurationLocation
    ) throws(ConfigurationError) -> VirtualServiceDraft.HealthCheck {
        var check = HealthCheckConfiguration()
        guard let node else {
            return VirtualServiceDraft.HealthCheck(configuration: check, location: location, written: [:])
        }
        let fields = try node.mapping(allowedKeys: Self.healthCheckKeys)
        let parse = ConfigurationValueParser.self
        check.kind = try fields.optional("type", parse.healthCheckKind) ?? check.kind
        check.interval = try fields.optional("interval", parse.healthCheckInterval) ?? check.interval
        check.timeout = try fields.optional("timeout", parse.duration) ?? check.timeout
        check.rise = try fields.optional("rise", parse.checkCount) ?? check.rise
        check.fall = try fields.optional("fall", parse.checkCount) ?? check.fall
        check.user = try fields.optional("user", parse.commandArgument)
        check.password = try fields.optional("password", parse.commandArgument)
        check.file = try fields.optional("file", parse.commandArgument)
        check.transferMode = try fields.optional("mode", parse.transferMode) ?? check.transferMode
        check.expectedSize = try fields.optional("size", parse.byteCount)
        return VirtualServiceDraft.HealthCheck(
            configuration: check,
            location: node.location,
            written: fields.children.mapValues(\.location)
        )
    }

    /// The `per_user` section; whether the servers it names exist is checked with the pool.
    static func userRouting(
        _ node: ConfigurationNode,
        location: ConfigurationLocation
    ) throws(ConfigurationError) -> VirtualServiceDraft.UserRouting {
        let fields = try node.mapping(allowedKeys: Self.userRoutingKeys)
        var routes: [VirtualServiceDraft.UserRouting.Route] = []
        if let usersNode = fields["users"] {
            for entry in try usersNode.entries() {
                routes.append(
                    VirtualServiceDraft.UserRouting.Route(
                        user: try entry.key.value(ConfigurationValueParser.userName),
                        server: try entry.value.scalar(),
                        location: entry.value.location
                    )
                )
            }
        }
        let greeting = try fields.optional("greeting", ConfigurationValueParser.replyText)
        return VirtualServiceDraft.UserRouting(
            greeting: greeting ?? UserRoutingConfiguration().greeting,
            routes: routes,
            location: location
        )
    }
}
