import ArgumentParser
import FTPBalancer
import FTPBalancerConfig

/// `ftplb check-config FILE`: validates a configuration file, and the TLS files it names, and
/// prints what would run.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file, print what would run."
    )

    @Argument(help: "The YAML configuration file.")
    var file: String

    func run() throws {
        do {
            let configuration = try ConfigurationLoader.load(path: self.file)
            let warnings = try TLSMaterial.check(configuration, file: self.file)
            print(configuration.summary)
            for warning in warnings {
                printError("ftplb: warning: \(warning)")
            }
        } catch {
            let errors = [error] + error.others
            for each in errors {
                printError("ftplb: \(each.located)")
            }
            if errors.count > 1 {
                printError("ftplb: \(errors.count) errors in \(self.file)")
            }
            throw ExitCode(2)
        }
    }
}
