import ArgumentParser
import FTPBalancerAdmin

/// `ftplb show services|pools|sessions|flows|stats`: the running balancer, through its admin API.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show what a running ftplb is doing, through its admin API.",
        discussion: """
            services  virtual services and their listeners
            pools     servers with their state, health, last check, sessions and weight
            sessions  live control sessions
            flows     live data connections with bytes and rate
            stats     counters per virtual service since start
            """
    )

    enum View: String, CaseIterable, ExpressibleByArgument {
        case services, pools, sessions, flows, stats
    }

    @Argument(help: "services, pools, sessions, flows or stats.")
    var view: View

    @OptionGroup var options: AdminOptions

    func run() async throws {
        let client = try self.options.client()
        let answer = try await runAdminCommand {
            try await client.request(.GET, "\(AdminAPI.prefix)/\(self.view.rawValue)")
        }
        if self.options.json {
            print(answer.prettyText, terminator: "")
            return
        }
        let table: Table
        switch self.view {
        case .services: table = AdminTables.services(answer)
        case .pools: table = AdminTables.pools(answer)
        case .sessions: table = AdminTables.sessions(answer)
        case .flows: table = AdminTables.flows(answer)
        case .stats: table = AdminTables.stats(answer)
        }
        print(table.text)
    }
}

/// Runs an admin request; a failure is printed as `ftplb: message` and exits with status 1.
func runAdminCommand<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as AdminClientError {
        printError("ftplb: \(error.message)")
        throw ExitCode(1)
    }
}
