import ArgumentParser
import FTPBalancerAdmin

/// `ftplb server enable|disable|drain NAME` and `ftplb server weight NAME N`: change a server of
/// a running balancer until its next reload.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Drain, disable, enable or re-weight a server.",
        usage: """
            ftplb server enable|disable|drain <name> [<options>]
            ftplb server weight <name> <weight> [<options>]
            """,
        discussion: """
            enable   takes new sessions again (once its health checks pass)
            drain    no new sessions; running sessions and transfers continue
            disable  as drain, and health checks stop
            weight   its share of new sessions, 1 to 1000 (ftplb server weight NAME N)

            A change lasts until the next reload: a reload (SIGHUP) sets every server back to \
            what the file says. NAME is the server's name in the configuration, or its address \
            as written when it has none.
            """
    )

    enum Action: String, CaseIterable, ExpressibleByArgument {
        case enable, disable, drain, weight
    }

    @Argument(help: "What to do with the server.")
    var action: Action

    @Argument(help: "The server's name (or its address as written).")
    var name: String

    @Argument(help: "The weight, for `weight` only (1 to 1000).")
    var weight: Int?

    @Option(name: .long, help: "The virtual service, when several have a server of that name.")
    var service: String?

    @OptionGroup var options: AdminOptions

    func validate() throws {
        switch (self.action, self.weight) {
        case (.weight, nil): throw ValidationError("weight needs a number: ftplb server weight NAME N")
        case (.weight, let weight?) where !(1...1000).contains(weight):
            throw ValidationError("the weight must be from 1 to 1000")
        case (.weight, _): break
        case (_, _?): throw ValidationError("only `weight` takes a number")
        case (_, nil): break
        }
    }

    func run() async throws {
        let client = try self.options.client()
        var path = "\(AdminAPI.prefix)/servers/\(PercentEncoding.encode(self.name))/\(self.action.rawValue)"
        if let service = self.service { path += "?service=\(PercentEncoding.encode(service))" }
        let body = self.weight.map { WeightRequest(weight: $0) }
        let (answer, text) = try await runAdminCommand {
            try await client.request(.POST, path, body: body, as: ServerChangeAnswer.self)
        }
        if self.options.json {
            print(text, terminator: "")
            return
        }
        print(
            "server '\(answer.server)' of virtual service '\(answer.service)': "
                + "\(answer.setting) \(answer.from) -> \(answer.to) (until the next reload)"
        )
    }
}
