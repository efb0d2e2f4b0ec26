import ArgumentParser
import CoreMetrics
import FTPBalancer
import FTPBalancerAdmin
import FTPBalancerConfig
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// `ftplb run`: serves the virtual services of a configuration file, or the one virtual service
/// the quick flags describe.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the balancer.",
        // A paragraph is one line (the trailing backslashes), so that --help wraps it to the
        // terminal; an example line stays under 80 columns.
        discussion: """
            Either --config FILE, or the quick form for one virtual service:
              ftplb run --listen 10.0.0.1:21 --passive-ports 40000-40999 \\
                --server 10.0.2.11:21 --server 10.0.2.12:21

            SIGHUP re-reads the configuration file and reopens the transfer log; SIGTERM and \
            SIGINT stop taking sessions, let running transfers finish within shutdown_grace, then \
            exit. SIGUSR2 upgrades without dropping a session: a new ftplb process, started from \
            the binary now at this one's path, takes over the listening sockets, and this one \
            exits once its sessions have ended (within upgrade_drain).
            """
    )

    @OptionGroup var source: ConfigurationOptions

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (overrides the file).")
    var logLevel: String?

    @Option(name: .long, help: "Write one line per finished transfer to this file (overrides the file's transfer_log).")
    var transferLog: String?

    @Option(name: .long, help: "The transfer log's format: xferlog (default) or json.")
    var transferLogFormat: String?

    @Option(name: .long, help: "Quick form: how long running transfers may finish after SIGTERM/SIGINT (default 30s).")
    var shutdownGrace: String?

    @Option(name: .long, help: "Quick form: the admin API's address, on loopback (default 127.0.0.1:9021), or none.")
    var admin: String?

    func run() async throws {
        let configuration: BalancerConfiguration
        let tlsWarnings: [String]
        do {
            configuration = try self.loadConfiguration()
            // A certificate that cannot serve refuses the start as check-config does, not the
            // first FTPS client.
            tlsWarnings = try TLSMaterial.check(configuration, file: self.source.config)
        } catch {
            printError("ftplb: \(error)")
            throw ExitCode(2)
        }
        let level = DynamicLogLevel(configuration.logLevel)
        LoggingSystem.bootstrap { label in ReloadableLogHandler(label: label, level: level) }
        let logger = Logger(label: "ftplb")
        for warning in tlsWarnings {
            logger.warning("\(warning)")
        }
        do {
            try StartupChecks.checkActiveSourcePorts(configuration)
            for warning in try StartupChecks.checkTransparentSetup(configuration) {
                logger.warning("\(warning)")
            }
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        // An upgrade's successor: the sockets its predecessor handed over, and the pipe on which
        // it says it serves them.
        let sockets = ListeningSockets.fromEnvironment()
        let handshake = PredecessorHandshake.takeFromEnvironment()
        sockets.keepInherited(only: Self.listeningKeys(configuration))
        if handshake == nil {
            sockets.startAccepting()  // sockets named without a predecessor to wait for
        }
        if !sockets.inheritedKeys.isEmpty {
            logger.notice(
                "upgrade: taking over the listening sockets of the previous ftplb process",
                metadata: ["ftp.sockets": "\(sockets.inheritedKeys.joined(separator: ", "))"]
            )
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        // Before any thread or socket: the balancer's descriptor reserve reads the limit in force.
        DescriptorReserve.raiseSoftLimit(logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let dataPath: any DataPath
        let splicePath: SpliceDataPath?
        do {
            (dataPath, splicePath) = try Self.makeDataPath(configuration.dataPath, logger: logger)
        } catch {
            logger.critical("cannot start the splice data path: \(OperatorText.describe(error))")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        let balancer = Balancer(
            configuration: configuration,
            group: group,
            dataPath: dataPath,
            metrics: BalancerMetrics(),
            listeningSockets: sockets,
            logger: logger,
            onListening: { handshake?.ready() }
        )
        if handshake != nil {
            balancer.predecessorDraining()  // before its first listeners and range watches
        }
        let reloader = ConfigurationReloader(
            path: self.source.config,
            balancer: balancer,
            admin: configuration.admin,
            dataPath: configuration.dataPath,
            logLevel: level,
            logLevelOverride: try self.logLevelOverride(),
            transferLogOverride: try self.transferLogOverride(),
            logger: logger
        )
        let api = AdminAPI(
            balancer: balancer,
            token: configuration.admin.token,
            reload: { await reloader.reload(trigger: "admin API") },
            metrics: MetricsExposition(registry: registry, balancer: balancer),
            logger: logger
        )
        let admin = AdminServer(
            configuration: configuration.admin,
            api: api,
            group: group,
            listeningSockets: sockets,
            logger: logger
        )
        // Shut down in reverse order: the splice relay threads last, as the sessions they relay
        // for report to them until drained; the admin API before them, so that while sessions
        // drain it still answers, and /healthz says 503 "shutting down" to keepalived or the BGP
        // speaker.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let splicePath {
            services.append(.init(service: splicePath))
        }
        services += [
            // Off, or not at its default address: the balancer runs on without it.
            .init(service: admin, successTerminationBehavior: .ignore),
            .init(service: reloader), .init(service: balancer),
        ]
        // No gracefulShutdownSignals: ShutdownSignals traps them, so that a second one is heard.
        let serviceGroup = ServiceGroup(configuration: .init(services: services, logger: logger))
        let signals = ShutdownSignals(balancer: balancer, logger: logger)
        let upgrade = UpgradeSignal(balancer: balancer, successor: SuccessorProcess.current(), logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { tasks in
                tasks.addTask { await signals.run(stopping: serviceGroup) }
                tasks.addTask { await upgrade.run(stopping: serviceGroup) }
                if let handshake {
                    // The predecessor's drain and shutdown, and some room.
                    let limit = configuration.upgradeDrain + configuration.shutdownGrace + .seconds(60)
                    tasks.addTask { await handshake.followPredecessor(balancer, drainLimit: limit, logger: logger) }
                }
                try await serviceGroup.run()
                tasks.cancelAll()
            }
        } catch {
            logger.critical("\(OperatorText.describe(error))")
            // The group has stopped every service, the relay threads included, which report to
            // the sessions' event loops: those stop now.
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        try? await group.shutdownGracefully()
    }

    /// What each listening socket of `configuration` serves, as a predecessor names them.
    private static func listeningKeys(_ configuration: BalancerConfiguration) -> Set<String> {
        var keys = Set(
            configuration.virtualServices.flatMap(\.listeners).map { ListeningSockets.controlKey($0.endpoint) }
        )
        if let admin = configuration.admin.listen { keys.insert(ListeningSockets.adminKey(admin)) }
        return keys
    }

    /// The relay the configuration asks for; the splice one also returned on its own, to run
    /// as a service that stops once the sessions are done.
    private static func makeDataPath(
        _ configuration: DataPathConfiguration,
        logger: Logger
    ) throws -> (any DataPath, SpliceDataPath?) {
        switch configuration.relay {
        case .copy:
            logger.notice("data connections relayed by copying (data_path.relay: copy)")
            return (NIODataPath(), nil)
        case .splice:
            let splice = try SpliceDataPath(
                threads: configuration.threads,
                pipeSize: configuration.pipeSize,
                logger: logger
            )
            logger.notice(
                "data connections relayed with splice(2)",
                metadata: ["ftp.pipe_size": "\(configuration.pipeSize)", "ftp.threads": "\(configuration.threads)"]
            )
            return (splice, splice)
        }
    }

    private func loadConfiguration() throws -> BalancerConfiguration {
        var configuration = try self.source.load()
        if self.shutdownGrace != nil || self.admin != nil {
            guard self.source.config == nil else {
                throw ValidationError("--shutdown-grace and --admin belong to the quick form; a file sets shutdown_grace and admin")
            }
            try ConfigurationLoader.applyQuickRunFlags(
                shutdownGrace: self.shutdownGrace,
                admin: self.admin,
                to: &configuration
            )
        }
        if let level = try self.logLevelOverride() {
            configuration.logLevel = level
        }
        if let transferLog = try self.transferLogOverride() {
            configuration.transferLog = transferLog
        }
        return configuration
    }

    private func transferLogOverride() throws -> TransferLogConfiguration? {
        guard let path = self.transferLog else {
            guard self.transferLogFormat == nil else {
                throw ValidationError("--transfer-log-format needs --transfer-log FILE")
            }
            return nil
        }
        return try ConfigurationLoader.transferLogFlags(path: path, format: self.transferLogFormat)
    }

    private func logLevelOverride() throws -> LogLevel? {
        guard let level = self.logLevel else { return nil }
        guard let parsed = LogLevel(rawValue: level) else {
            throw ValidationError(
                "--log-level: expected one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return parsed
    }
}

func printError(_ message: String) {
    var standardError = FileHandleOutputStream.standardError
    print(message, to: &standardError)
}

/// Standard error as a `TextOutputStream`, without Foundation.
struct FileHandleOutputStream: TextOutputStream {
    static var standardError: FileHandleOutputStream { FileHandleOutputStream() }

    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            _ = Glibc.write(2, buffer.baseAddress, buffer.count)
        }
    }
}
