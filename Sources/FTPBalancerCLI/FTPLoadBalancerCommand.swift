import ArgumentParser

@main
struct FTPLoadBalancerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ftplb",
        abstract: "FTP-aware load balancer: every FTP mode through one virtual address.",
        version: FTPLoadBalancerVersion.description,
        subcommands: [
            RunCommand.self, CheckConfigCommand.self, SetupTransparentCommand.self, ShowCommand.self, ServerCommand.self,
            TraceCommand.self,
        ]
    )
}
