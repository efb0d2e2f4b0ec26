import Yams

/// Turns an `ftplb` YAML file, or the quick command-line flags, into a validated
/// `BalancerConfiguration`, or into one `ConfigurationError` that says what is wrong and where.
/// The YAML is walked node by node rather than decoded, so that every error can name its line.
package enum ConfigurationLoader {
    static let topLevelKeys = [
        "log_level", "shutdown_grace", "upgrade_drain", "transparent", "admin", "transfer_log", "data_path", "virtual_services",
    ]
    static let transparentKeys = ["fwmark", "route_table"]
    static let serviceKeys = [
        "name", "listen", "advertise", "passive_ports", "source_address", "active_source_port", "servers",
        "timeouts", "algorithm", "unavailable_message", "limits", "health_check", "per_user", "client_address",
        "listen_freebind",
        "data_transfer_policy", "greeting", "tls",
        "server_tls",
    ]
    static let serverKeys = ["name", "address"] + Self.serverOptionKeys
    static let timeoutKeys = [
        "server_connect", "server_greeting", "server_reply", "login", "passive_accept", "active_connect", "control_idle",
        "data_idle",
    ]
    static let defaultActiveSourcePort = 20

    /// Reads and validates the configuration file at `path`.
    package static func load(path: String) throws(ConfigurationError) -> BalancerConfiguration {
        let text = try ConfigurationFile.read(path: path)
        return try Self.parse(yaml: text, file: path)
    }

    /// Validates configuration text; `file` only names it in errors.
    package static func parse(yaml: String, file: String?) throws(ConfigurationError) -> BalancerConfiguration {
        let composed: Yams.Node?
        do {
            composed = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw Self.syntaxError(error, yaml: yaml, file: file)
        } catch {
            throw ConfigurationError(code: .yamlSyntax, file: file, path: "", message: "\(error)")
        }
        guard let composed else {
            throw ConfigurationError(
                code: .missingKey,
                file: file,
                path: "virtual_services",
                message: "the configuration is empty; at least one virtual service is required"
            )
        }
        let root = ConfigurationNode(node: composed, path: "", file: file)
        var problems = ConfigurationProblems()
        let fields = try root.mapping(allowedKeys: Self.topLevelKeys, problems: &problems)
        let logLevel = problems.collect { () throws(ConfigurationError) in
            try fields.optional("log_level", ConfigurationValueParser.logLevel)
        }
        let shutdownGrace = problems.collect { () throws(ConfigurationError) in
            try fields.optional("shutdown_grace", ConfigurationValueParser.durationOrZero)
        }
        let upgradeDrain = problems.collect { () throws(ConfigurationError) in
            try fields.optional("upgrade_drain", ConfigurationValueParser.durationOrZero)
        }
        let drafts = Self.services(fields, problems: &problems)
        // Checks across services (overlapping ports, names) need every service read.
        let services = problems.isEmpty ? problems.collect { () throws(ConfigurationError) in
            try ConfigurationValidator.validate(drafts)
        } : nil
        var configuration = BalancerConfiguration(logLevel: (logLevel ?? nil) ?? .info, virtualServices: services ?? [])
        configuration.shutdownGrace = (shutdownGrace ?? nil) ?? configuration.shutdownGrace
        configuration.upgradeDrain = (upgradeDrain ?? nil) ?? configuration.upgradeDrain
        configuration.transparent = problems.collect { () throws(ConfigurationError) in
            try Self.transparent(fields["transparent"])
        } ?? configuration.transparent
        configuration.admin = problems.collect { () throws(ConfigurationError) in
            try Self.admin(fields["admin"], services: services ?? [])
        } ?? configuration.admin
        configuration.transferLog = problems.collect { () throws(ConfigurationError) in
            try Self.transferLog(fields["transfer_log"])
        } ?? nil
        configuration.dataPath = problems.collect { () throws(ConfigurationError) in
            try Self.dataPath(fields["data_path"])
        } ?? configuration.dataPath
        try problems.check()
        return configuration
    }

    /// Every virtual service's draft; a service with an error is left out and its error kept.
    private static func services(
        _ fields: ConfigurationNode.Mapping,
        problems: inout ConfigurationProblems
    ) -> [VirtualServiceDraft] {
        let items = problems.collect { () throws(ConfigurationError) in
            let servicesNode = try fields.required("virtual_services")
            let items = try servicesNode.sequence()
            guard !items.isEmpty else {
                throw servicesNode.error(.invalidValue, "at least one virtual service is required")
            }
            return items
        }
        var drafts: [VirtualServiceDraft] = []
        for item in items ?? [] {
            if let draft = problems.collect({ () throws(ConfigurationError) in try Self.service(item) }) {
                drafts.append(draft)
            }
        }
        return drafts
    }

    static func transparent(_ node: ConfigurationNode?) throws(ConfigurationError) -> TransparentConfiguration {
        var transparent = TransparentConfiguration()
        guard let node else {
            return transparent
        }
        let fields = try node.mapping(allowedKeys: Self.transparentKeys)
        transparent.fwmark = try fields.optional("fwmark", ConfigurationValueParser.fwmark) ?? transparent.fwmark
        transparent.routeTable =
            try fields.optional("route_table", ConfigurationValueParser.routeTable) ?? transparent.routeTable
        return transparent
    }

    static func service(_ node: ConfigurationNode) throws(ConfigurationError) -> VirtualServiceDraft {
        let fields = try node.mapping(allowedKeys: Self.serviceKeys)
        let nameNode = try fields.required("name")
        let listenNode = try fields.required("listen")
        let passivePortsNode = try fields.required("passive_ports")
        let listens = try Self.listens(listenNode)
        let listen = listens[0]
        let advertise = try Self.advertise(fields["advertise"])
        let activeSourcePort = try fields.optional("active_source_port") { (text) throws(ValueProblem) in
            try ConfigurationValueParser.port(text, in: 0...65535)
        }
        var draft = VirtualServiceDraft(
            name: try nameNode.value(ConfigurationValueParser.name),
            nameLocation: nameNode.location,
            listen: listen.endpoint,
            listenAddress: listen.address,
            listenLocation: listen.location,
            advertise: advertise.first,
            // A missing advertise is the listen address's business: point at that line.
            advertiseLocation: fields["advertise"]?.location
                ?? listenNode.location.replacingPath(node.childPath("advertise")),
            passivePorts: try passivePortsNode.value(ConfigurationValueParser.portRange),
            passivePortsLocation: passivePortsNode.location,
            sourceAddress: try fields.optional("source_address", ConfigurationValueParser.ipAddress),
            sourceAddressLocation: fields.location(of: "source_address"),
            activeSourcePort: activeSourcePort ?? Self.defaultActiveSourcePort,
            servers: try Self.servers(try fields.required("servers")),
            serversLocation: fields.keyLocation(of: "servers"),
            timeouts: try Self.timeouts(fields["timeouts"]),
            algorithm: try fields.optional("algorithm", ConfigurationValueParser.algorithm) ?? .roundRobin,
            algorithmLocation: fields["algorithm"]?.location,
            userRouting: try fields["per_user"].map { (section) throws(ConfigurationError) in
                try Self.userRouting(section, location: fields.keyLocation(of: "per_user"))
            },
            healthCheck: try Self.healthCheck(fields["health_check"], location: fields.location(of: "health_check")),
            limits: try Self.limits(fields["limits"]),
            unavailableMessage: try fields.optional("unavailable_message", ConfigurationValueParser.replyText)
                ?? VirtualServiceConfiguration.defaultUnavailableMessage,
            greeting: try fields.optional("greeting", ConfigurationValueParser.replyText),
            greetingLocation: fields["greeting"]?.location,
            clientAddress: try fields.optional("client_address", ConfigurationValueParser.clientAddress) ?? .none,
            listenFreebind: try fields.optional("listen_freebind", ConfigurationValueParser.boolean) ?? false,
            otherListens: listens.dropFirst().map {
                VirtualServiceDraft.Listener(endpoint: $0.endpoint, address: $0.address, location: $0.location)
            },
            otherAdvertise: advertise.dropFirst().first,
            dataTransferPolicy: try fields.optional("data_transfer_policy", ConfigurationValueParser.dataTransferPolicy)
                ?? .client,
            dataTransferPolicyLocation: fields["data_transfer_policy"]?.location,
            tls: try Self.tls(fields["tls"])
        )
        draft.serverTLS = try Self.serverTLS(fields["server_tls"], clientTLS: draft.tls != nil)
        return draft
    }

    /// Each server is either `IP:port` or a mapping with `address` and optional `name`, `weight`,
    /// `max_sessions`, `backup` and `state`.
    static func servers(_ node: ConfigurationNode) throws(ConfigurationError) -> [VirtualServiceDraft.Server] {
        let items = try node.sequence()
        guard !items.isEmpty else {
            throw node.error(.invalidValue, "at least one server is required")
        }
        var servers: [VirtualServiceDraft.Server] = []
        for item in items {
            let addressNode: ConfigurationNode
            var name: String?
            var fields: ConfigurationNode.Mapping?
            if case .mapping = item.node {
                let mapping = try item.mapping(allowedKeys: Self.serverKeys)
                addressNode = try mapping.required("address")
                name = try mapping.optional("name", ConfigurationValueParser.name)
                fields = mapping
            } else {
                addressNode = item
            }
            let written = try addressNode.scalar()
            let address = try addressNode.value(ConfigurationValueParser.endpoint)
            var configuration = ServerConfiguration(name: name ?? written, address: address.endpoint)
            if let fields {
                try Self.applyServerOptions(fields, to: &configuration)
            }
            servers.append(
                VirtualServiceDraft.Server(
                    configuration: configuration,
                    address: address.address,
                    location: item.location
                )
            )
        }
        return servers
    }

    static func timeouts(_ node: ConfigurationNode?) throws(ConfigurationError) -> TimeoutConfiguration {
        var timeouts = TimeoutConfiguration()
        guard let node else {
            return timeouts
        }
        let fields = try node.mapping(allowedKeys: Self.timeoutKeys)
        let parse = ConfigurationValueParser.duration
        timeouts.serverConnect = try fields.optional("server_connect", parse) ?? timeouts.serverConnect
        timeouts.passiveAccept = try fields.optional("passive_accept", parse) ?? timeouts.passiveAccept
        timeouts.activeConnect = try fields.optional("active_connect", parse) ?? timeouts.activeConnect
        timeouts.controlIdle = try fields.optional("control_idle", parse) ?? timeouts.controlIdle
        timeouts.dataIdle = try fields.optional("data_idle", parse) ?? timeouts.dataIdle
        timeouts.serverGreeting = try fields.optional("server_greeting", parse) ?? timeouts.serverGreeting
        timeouts.login = try fields.optional("login", parse) ?? timeouts.login
        timeouts.serverReply = try fields.optional("server_reply", parse) ?? timeouts.serverReply
        return timeouts
    }

    /// Yams reports where libyaml gave up; keep that position, drop the echoed document.
    static func syntaxError(_ error: YamlError, yaml: String, file: String?) -> ConfigurationError {
        func located(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> ConfigurationError {
            var message = problem
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            // Editors insert them unasked, and libyaml's own words do not say what to do.
            if mark.line >= 1, mark.line <= lines.count,
                lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t")
            {
                message += "; tabs are not allowed for indentation in YAML: indent with spaces"
            }
            // `listen: [::1]:21` is the likeliest way to get here: YAML reads `[` as a list.
            if mark.line >= 1, mark.line <= lines.count,
                let open = lines[mark.line - 1].firstIndex(of: "["),
                lines[mark.line - 1][open...].contains(":")
            {
                message += "; if this is an IPv6 endpoint, put it in quotes, as \"[::1]:21\""
            }
            return ConfigurationError(
                code: .yamlSyntax,
                file: file,
                line: mark.line,
                column: mark.column,
                path: "",
                message: message
            )
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(mark, problem, context)
        case .reader(let problem, let offset, _, _):
            var line: Int?
            if let offset {
                line = yaml.prefix(offset).reduce(1) { $1.isNewline ? $0 + 1 : $0 }
            }
            return ConfigurationError(code: .yamlSyntax, file: file, line: line, path: "", message: problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return ConfigurationError(
                code: .duplicate,
                file: file,
                line: context.mark.line,
                column: context.mark.column,
                path: "",
                message: "key \(keys) appears more than once in the same mapping"
            )
        default:
            return ConfigurationError(code: .yamlSyntax, file: file, path: "", message: "\(error)")
        }
    }
}
