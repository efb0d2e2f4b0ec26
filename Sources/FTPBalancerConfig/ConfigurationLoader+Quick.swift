extension ConfigurationLoader {
    /// The name of the single virtual service that the quick command-line form describes.
    package static let quickServiceName = "default"
    /// The health checks `--health-check` offers: the others need credentials, which have no
    /// flags.
    static let quickHealthCheckKinds: [HealthCheckKind] = [.none, .tcp, .ftp]

    /// Builds a one-service configuration from `ftplb run` flags, with the same checks as a file;
    /// errors name the flag (`--passive-ports: expected FIRST-LAST ...`). `algorithm` and
    /// `healthCheck` are `--algorithm` and `--health-check`; nil keeps the model's defaults.
    /// `tlsCertificate`, `tlsPrivateKey` and `tlsImplicit` are `--tls-cert`, `--tls-key` and
    /// `--tls-implicit` (see `tlsFlags`).
    package static func quick(
        listen: String,
        servers: [String],
        passivePorts: String,
        advertise: String?,
        sourceAddress: String?,
        activeSourcePort: Int?,
        logLevel: String?,
        algorithm: String? = nil,
        healthCheck: String? = nil,
        clientAddress: String? = nil,
        tlsCertificate: String? = nil,
        tlsPrivateKey: String? = nil,
        tlsImplicit: Bool = false
    ) throws(ConfigurationError) -> BalancerConfiguration {
        let listenLocation = ConfigurationLocation.flag("--listen")
        let serverLocation = ConfigurationLocation.flag("--server")
        let listenValue = try Self.flag(listenLocation, listen, ConfigurationValueParser.endpoint)
        guard !servers.isEmpty else {
            throw serverLocation.error(.missingKey, "at least one server is required")
        }
        var serverDrafts: [VirtualServiceDraft.Server] = []
        for server in servers {
            let address = try Self.flag(serverLocation, server, ConfigurationValueParser.endpoint)
            serverDrafts.append(
                VirtualServiceDraft.Server(
                    configuration: ServerConfiguration(name: server, address: address.endpoint),
                    address: address.address,
                    location: serverLocation
                )
            )
        }
        var activePort = Self.defaultActiveSourcePort
        if let activeSourcePort {
            guard (0...65535).contains(activeSourcePort) else {
                throw ConfigurationLocation.flag("--active-source-port").error(
                    .invalidValue,
                    "expected a port number from 0 to 65535; found '\(activeSourcePort)'"
                )
            }
            activePort = activeSourcePort
        }
        let algorithmLocation = ConfigurationLocation.flag("--algorithm")
        let healthCheckLocation = ConfigurationLocation.flag("--health-check")
        let balancing = try algorithm.map { (text) throws(ConfigurationError) in
            try Self.flag(algorithmLocation, text, ConfigurationValueParser.algorithm)
        }
        var check = HealthCheckConfiguration()
        if let healthCheck {
            check.kind = try Self.flag(healthCheckLocation, healthCheck, Self.quickHealthCheckKind)
        }
        var draft = VirtualServiceDraft(
            name: Self.quickServiceName,
            nameLocation: ConfigurationLocation.flag("--listen"),
            listen: listenValue.endpoint,
            listenAddress: listenValue.address,
            listenLocation: listenLocation,
            advertise: try advertise.map { (text) throws(ConfigurationError) in
                try Self.flag(.flag("--advertise"), text, ConfigurationValueParser.ipAddress)
            },
            advertiseLocation: .flag("--advertise"),
            passivePorts: try Self.flag(.flag("--passive-ports"), passivePorts, ConfigurationValueParser.portRange),
            passivePortsLocation: .flag("--passive-ports"),
            sourceAddress: try sourceAddress.map { (text) throws(ConfigurationError) in
                try Self.flag(.flag("--source-address"), text, ConfigurationValueParser.ipAddress)
            },
            sourceAddressLocation: .flag("--source-address"),
            activeSourcePort: activePort,
            servers: serverDrafts,
            serversLocation: serverLocation,
            timeouts: TimeoutConfiguration(),
            algorithm: balancing ?? .roundRobin,
            algorithmLocation: algorithm == nil ? nil : algorithmLocation,
            userRouting: nil,
            healthCheck: VirtualServiceDraft.HealthCheck(
                configuration: check,
                location: healthCheckLocation,
                written: [:]
            ),
            limits: SessionLimitConfiguration(),
            unavailableMessage: VirtualServiceConfiguration.defaultUnavailableMessage,
            clientAddress: try clientAddress.map { (text) throws(ConfigurationError) in
                try Self.flag(.flag("--client-address"), text, ConfigurationValueParser.clientAddress)
            } ?? .none
        )
        draft.tls = try Self.tlsFlags(certificate: tlsCertificate, privateKey: tlsPrivateKey, implicit: tlsImplicit)
        let level = try logLevel.map { (text) throws(ConfigurationError) in
            try Self.flag(.flag("--log-level"), text, ConfigurationValueParser.logLevel)
        }
        return BalancerConfiguration(
            logLevel: level ?? .info,
            virtualServices: try ConfigurationValidator.validate([draft])
        )
    }

    /// A `--health-check` value: a check type that needs no credentials.
    private static func quickHealthCheckKind(_ text: String) throws(ValueProblem) -> HealthCheckKind {
        do {
            return try ConfigurationValueParser.choice(text, among: Self.quickHealthCheckKinds)
        } catch {
            throw ValueProblem(
                "\(error.message) (ftp_login and ftp_transfer need a user and password, "
                    + "which only a configuration file can give)"
            )
        }
    }

    /// One flag's value read by `parse`, with a refusal reported against the flag.
    private static func flag<T>(
        _ location: ConfigurationLocation,
        _ text: String,
        _ parse: (String) throws(ValueProblem) -> T
    ) throws(ConfigurationError) -> T {
        do {
            return try parse(text)
        } catch {
            throw location.error(.invalidValue, error.message)
        }
    }
}
