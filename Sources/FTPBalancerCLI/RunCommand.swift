import ArgumentParser
import FTPBalancer
import FTPBalancerConfig
import Logging
import NIOCore
import NIOPosix
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
        discussion: """
            Either --config FILE, or the quick form for one virtual service:
              ftplb run --listen 10.0.0.1:21 --server 10.0.2.11:21 --server 10.0.2.12:21 --passive-ports 40000-40999

            SIGHUP re-reads the configuration file; SIGTERM and SIGINT stop taking sessions, let
            running transfers finish within shutdown_grace, then exit.
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Quick form: the address and port to listen on (IP:PORT).")
    var listen: String?

    @Option(name: .long, help: "Quick form: a server of the pool (IP:PORT); repeat for more.")
    var server: [String] = []

    @Option(name: .long, help: "Quick form: the passive port range (FIRST-LAST).")
    var passivePorts: String?

    @Option(name: .long, help: "Quick form: the address written into PASV/EPSV replies (default: the listen address).")
    var advertise: String?

    @Option(name: .long, help: "Quick form: the local address for connections to the servers.")
    var sourceAddress: String?

    @Option(name: .long, help: "Quick form: the source port of active-mode data connections (default 20; 0: any).")
    var activeSourcePort: Int?

    @Option(name: .long, help: "Quick form: round_robin (default), weighted_round_robin, least_connections, source_ip_hash, least_response_time or per_user.")
    var algorithm: String?

    @Option(name: .long, help: "Quick form: the health check: none, tcp or ftp (default).")
    var healthCheck: String?

    @Option(name: .long, help: "Quick form: how servers learn the client's address: none (default), proxy_protocol_v1 or proxy_protocol_v2.")
    var clientAddress: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (overrides the file).")
    var logLevel: String?

    func run() async throws {
        let configuration: BalancerConfiguration
        do {
            configuration = try self.loadConfiguration()
        } catch {
            printError("ftplb: \(error)")
            throw ExitCode(2)
        }
        let level = DynamicLogLevel(configuration.logLevel)
        LoggingSystem.bootstrap { label in ReloadableLogHandler(label: label, level: level) }
        let logger = Logger(label: "ftplb")
        do {
            try StartupChecks.checkActiveSourcePorts(configuration)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let balancer = Balancer(configuration: configuration, group: group, logger: logger)
        let reloader = ConfigurationReloader(
            path: self.config,
            balancer: balancer,
            logLevel: level,
            logLevelOverride: try self.logLevelOverride(),
            logger: logger
        )
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: balancer), .init(service: reloader)]
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await serviceGroup.run()
        } catch {
            logger.critical("\(error)")
            try? await group.shutdownGracefully()
            throw ExitCode(1)
        }
        try? await group.shutdownGracefully()
    }

    private func loadConfiguration() throws -> BalancerConfiguration {
        var configuration: BalancerConfiguration
        if let file = self.config {
            guard self.listen == nil, self.server.isEmpty, self.passivePorts == nil, self.algorithm == nil,
                self.healthCheck == nil, self.clientAddress == nil
            else {
                throw ValidationError("use either --config or the quick flags, not both")
            }
            configuration = try ConfigurationLoader.load(path: file)
        } else {
            guard let listen = self.listen, let passivePorts = self.passivePorts else {
                throw ValidationError("give --config FILE, or --listen, --server and --passive-ports")
            }
            configuration = try ConfigurationLoader.quick(
                listen: listen,
                servers: self.server,
                passivePorts: passivePorts,
                advertise: self.advertise,
                sourceAddress: self.sourceAddress,
                activeSourcePort: self.activeSourcePort,
                logLevel: nil,
                algorithm: self.algorithm,
                healthCheck: self.healthCheck,
                clientAddress: self.clientAddress
            )
        }
        if let level = try self.logLevelOverride() {
            configuration.logLevel = level
        }
        return configuration
    }

    private func logLevelOverride() throws -> LogLevel? {
        guard let level = self.logLevel else { return nil }
        guard let parsed = LogLevel(rawValue: level) else {
            throw ValidationError("--log-level: expected one of \(LogLevel.allCases.map(\.rawValue).joined(separator: ", "))")
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
