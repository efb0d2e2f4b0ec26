import FTPBalancer
import FTPBalancerAdmin
import FTPBalancerConfig
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration file on SIGHUP, or when the admin API asks, and hands it to the
/// balancer. A file that does not validate is refused with the same message as
/// `ftplb check-config`; the running configuration stays.
struct ConfigurationReloader: Service, CustomStringConvertible {
    /// Nil for the quick command-line form, which has no file to re-read.
    let path: String?
    let balancer: Balancer
    /// The admin section in force, which a reload does not change.
    let admin: AdminConfiguration
    /// The data path in force, which a reload does not change either.
    let dataPath: DataPathConfiguration
    /// SIGHUP and the admin API may ask at once; reloads run one after the other.
    let queue = ReloadQueue()
    let logLevel: DynamicLogLevel
    /// A `--log-level` flag wins over the file, on reload as at start.
    let logLevelOverride: LogLevel?
    /// So does `--transfer-log`.
    let transferLogOverride: TransferLogConfiguration?
    let logger: Logger

    /// ServiceLifecycle logs this: one line, without the admin token.
    var description: String { "ConfigurationReloader(\(self.path ?? "command-line flags"))" }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            // logrotate renamed the file and sends SIGHUP: a new file appears at the path.
            self.balancer.transferLog.reopen()
            _ = await self.reload(trigger: "SIGHUP")
        }
    }

    /// Reloads as SIGHUP does and says how it went; `trigger` names who asked, for the log.
    func reload(trigger: String) async -> AdminReloadResult {
        await self.queue.run { await self.reloadNow(trigger: trigger) }
    }

    private func reloadNow(trigger: String) async -> AdminReloadResult {
        guard let path = self.path else {
            // Without a handler SIGHUP would end the process.
            self.logger.notice(
                "\(trigger): nothing to re-read: the balancer runs from command-line flags, not from a file"
            )
            return .unavailable("the balancer runs from command-line flags; there is no configuration file to reload")
        }
        self.logger.notice("\(trigger): reloading the configuration", metadata: ["ftp.config": "\(path)"])
        var configuration: BalancerConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: path)
            if let transferLog = self.transferLogOverride {
                configuration.transferLog = transferLog
            }
            try StartupChecks.checkActiveSourcePorts(configuration)
            for warning in try StartupChecks.checkTransparentSetup(configuration) {
                self.logger.warning("\(warning)")
            }
            for warning in try TLSMaterial.check(configuration, file: path) {
                self.logger.warning("\(warning)")
            }
        } catch {
            self.logger.error("configuration reload refused; the running configuration stays: \(error)")
            return .refused("configuration reload refused; the running configuration stays: \(error)")
        }
        do {
            try await self.balancer.reload(to: configuration)
        } catch {
            let reason = "configuration reload failed; the running configuration stays: \(OperatorText.describe(error))"
            self.logger.error("\(reason)")
            return .refused(reason)
        }
        self.logLevel.set(self.logLevelOverride ?? configuration.logLevel)
        if configuration.admin.listen != self.admin.listen || configuration.admin.token != self.admin.token {
            // Moving or re-keying the API under a running client would lock the operator out.
            self.logger.warning("the admin section changed; it takes effect at the next start, not on reload")
        }
        if configuration.dataPath != self.dataPath {
            // Running transfers belong to the relay that started them.
            self.logger.warning("the data_path section changed; it takes effect at the next start, not on reload")
        }
        return .reloaded(services: configuration.virtualServices.count)
    }
}

/// Runs one reload at a time, in the order asked.
actor ReloadQueue {
    private var running = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<Result: Sendable>(_ body: @Sendable () async -> Result) async -> Result {
        if self.running {
            await withCheckedContinuation { self.waiting.append($0) }
        } else {
            self.running = true
        }
        let result = await body()
        // Hand the turn straight to the next one, so that nobody overtakes it.
        if self.waiting.isEmpty {
            self.running = false
        } else {
            self.waiting.removeFirst().resume()
        }
        return result
    }
}
