import ArgumentParser
import FTPBalancerAdmin

/// `ftplb show services|pools|sessions|flows|stats`: the running balancer, through its admin API.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show what a running ftplb is doing (admin API).",
        usage: """
            ftplb show <view> [<options>]
            ftplb show flows --bpf <session> [<options>]
            """,
        discussion: """
            services  virtual services and their listeners
            pools     servers with their state, health, last check, sessions and weight
            sessions  live control sessions
            flows     live data connections with bytes and rate
            stats     counters per virtual service since start

            flows --bpf SESSION prints the tcpdump filter that captures that control \
            session's control and data connections on both sides of the balancer, also the \
            data connections that start later:
              tcpdump -i any -w s.pcap "$(ftplb show flows --bpf 4 | tail -1)"
            """
    )

    enum View: String, CaseIterable, ExpressibleByArgument {
        case services, pools, sessions, flows, stats
    }

    @Argument(help: "What to show.")
    var view: View

    @Option(name: .long, help: "With flows: print the tcpdump filter of this control session (an id of show sessions).")
    var bpf: Int?

    @OptionGroup var options: AdminOptions

    func validate() throws {
        if self.bpf != nil && self.view != .flows {
            throw ValidationError("--bpf goes with flows: ftplb show flows --bpf SESSION")
        }
    }

    func run() async throws {
        let client = try self.options.client()
        if let session = self.bpf {
            let filter = try await runAdminCommand { try await Self.captureFilter(session: session, client: client) }
            if self.options.json {
                print(try AdminJSON.document(CaptureFilterView(filter, session: session)), terminator: "")
            } else {
                print(filter.text)
            }
            return
        }
        let (table, text) = try await runAdminCommand { try await self.table(from: client) }
        print(self.options.json ? text : table.text, terminator: self.options.json ? "" : "\n")
    }

    /// The view as a table, and as the text the API sent.
    private func table(from client: AdminClient) async throws -> (Table, String) {
        switch self.view {
        case .services: try await self.table(from: client, AdminTables.services)
        case .pools: try await self.table(from: client, AdminTables.pools)
        case .sessions: try await self.table(from: client, AdminTables.sessions)
        case .flows: try await self.table(from: client, AdminTables.flows)
        case .stats: try await self.table(from: client, AdminTables.stats)
        }
    }

    private func table<Answer: Decodable>(
        from client: AdminClient,
        _ render: (Answer) -> Table
    ) async throws -> (Table, String) {
        let (answer, text) = try await client.request(.GET, "\(AdminAPI.prefix)/\(self.view.rawValue)", as: Answer.self)
        return (render(answer), text)
    }
}

extension ShowCommand {
    /// The session's capture filter, from the sessions and services views.
    static func captureFilter(session id: Int, client: AdminClient) async throws -> CaptureFilter {
        let sessions = try await client.request(.GET, "\(AdminAPI.prefix)/sessions", as: SessionsAnswer.self)
            .answer.sessions
        guard let session = sessions.first(where: { $0.id == id }) else {
            let running = sessions.map { String($0.id) }
            throw AdminClientError(
                "no control session \(id) is running; "
                    + (running.isEmpty ? "there is none" : "running: \(running.joined(separator: ", "))")
                    + " (ftplb show sessions)"
            )
        }
        let services = try await client.request(.GET, "\(AdminAPI.prefix)/services", as: ServicesAnswer.self)
            .answer.services
        guard let service = services.first(where: { $0.name == session.service }) else {
            throw AdminClientError("the session's virtual service is no longer running")
        }
        do {
            return CaptureFilter(try CaptureFilter.Session(session: session, service: service))
        } catch {
            throw AdminClientError(error.message)
        }
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
