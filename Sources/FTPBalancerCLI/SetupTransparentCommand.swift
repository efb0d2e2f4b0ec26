import ArgumentParser
import FTPBalancer
import FTPBalancerConfig

/// `ftplb setup-transparent`: the policy routing and nftables rules that
/// `client_address: transparent` needs on this host, printed as commands or applied.
struct SetupTransparentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup-transparent",
        abstract: "Print or apply the host setup of transparent mode.",
        usage: "ftplb setup-transparent (--config <config> | <quick flags>) [--apply]",
        discussion: """
            The host setup (policy routing, nftables rules) that client_address: transparent \
            needs. Takes the same --config FILE or quick flags as `ftplb run`. Without --apply it \
            prints the commands as a shell script; with --apply it runs those not yet in place \
            (as root) and checks the result. Applying again changes nothing.
            """
    )

    @OptionGroup var source: ConfigurationOptions

    @Flag(name: .long, help: "Run the commands that are not in place yet, then check.")
    var apply = false

    func run() throws {
        let configuration: BalancerConfiguration
        do {
            configuration = try self.source.load()
        } catch {
            printError("ftplb: \(error)")
            throw ExitCode(2)
        }
        let setup = TransparentSetup(for: configuration)
        guard !setup.steps.isEmpty else {
            printError("ftplb: no virtual service has client_address: transparent; there is nothing to set up")
            throw ExitCode(1)
        }
        guard self.apply else {
            print(setup.script)
            return
        }
        try Self.apply(setup)
        do {
            for warning in try StartupChecks.checkTransparentSetup(configuration) {
                printError("ftplb: warning: \(warning)")
            }
        } catch {
            printError("ftplb: \(error)")
            throw ExitCode(1)
        }
        print("transparent mode is set up")
    }

    private static func apply(_ setup: TransparentSetup) throws {
        let (state, problems) = TransparentHostState.read(for: setup)
        for problem in problems {
            printError("ftplb: \(problem)")
        }
        for step in setup.steps {
            guard !state.has(step, of: setup) else {
                print("# in place: \(step.purpose)")
                continue
            }
            print("# \(step.purpose)")
            for (command, shown) in zip(step.commands, step.shellCommands) {
                print(shown)
                switch HostCommand.run(command) {
                case .success(let result) where result.status == 0:
                    break
                case .success(let result):
                    printError("ftplb: `\(shown)` failed (exit status \(result.status)): \(result.output)")
                    throw ExitCode(1)
                case .failure(let failure):
                    printError("ftplb: \(failure)")
                    throw ExitCode(1)
                }
            }
        }
    }
}
