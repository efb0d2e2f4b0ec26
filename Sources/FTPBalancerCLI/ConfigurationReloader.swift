import FTPBalancer
import FTPBalancerConfig
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration file on SIGHUP and hands it to the balancer. A file that does not
/// validate is refused with the same message as `ftplb check-config`; the running configuration
/// stays.
struct ConfigurationReloader: Service {
    /// Nil for the quick command-line form, which has no file to re-read.
    let path: String?
    let balancer: Balancer
    let logLevel: DynamicLogLevel
    /// A `--log-level` flag wins over the file, on reload as at start.
    let logLevelOverride: LogLevel?
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            await self.reload()
        }
    }

    private func reload() async {
        guard let path = self.path else {
            // Without a handler SIGHUP would end the process.
            self.logger.notice("SIGHUP ignored: the balancer runs from command-line flags, not from a file")
            return
        }
        self.logger.notice("SIGHUP: reloading the configuration", metadata: ["ftp.config": "\(path)"])
        let configuration: BalancerConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: path)
            try StartupChecks.checkActiveSourcePorts(configuration)
            for warning in try StartupChecks.checkTransparentSetup(configuration) {
                self.logger.warning("\(warning)")
            }
        } catch {
            self.logger.error("configuration reload refused; the running configuration stays: \(error)")
            return
        }
        do {
            try await self.balancer.reload(to: configuration)
        } catch {
            self.logger.error("configuration reload failed; the running configuration stays: \(error)")
            return
        }
        self.logLevel.set(self.logLevelOverride ?? configuration.logLevel)
    }
}
