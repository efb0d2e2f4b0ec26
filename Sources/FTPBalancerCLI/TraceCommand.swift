import ArgumentParser
import FTPBalancerAdmin
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `ftplb trace SESSION` / `ftplb trace --client IP`: a session's commands and replies as they
/// pass the balancer, passwords masked.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Follow sessions' commands and replies as they pass.",
        usage: """
            ftplb trace <session> [<options>]
            ftplb trace --client <client> [<options>]
            """,
        discussion: """
            ftplb trace 12           one session (see ftplb show sessions), until it ends
            ftplb trace --client IP  every session of a client, later ones too

            C->B  a command as the client sent it
            S->B  a reply as the server sent it
            B->C  what the client got instead (a rewritten 227/229, a balancer reply)
            B->S  what the server got instead of the client's command (PORT rewritten)
            A password (PASS) is always masked. Ctrl-C stops.
            """
    )

    @Argument(help: "The session to follow (see ftplb show sessions).")
    var session: Int?

    @Option(name: .long, help: "Follow every session of this client address instead.")
    var client: String?

    @OptionGroup var options: AdminOptions

    func validate() throws {
        guard (self.session == nil) != (self.client == nil) else {
            throw ValidationError("give a session id, or --client IP")
        }
    }

    func run() async throws {
        let client = try self.options.client()
        let path: String
        if let session = self.session {
            path = "\(AdminAPI.prefix)/trace?session=\(session)"
        } else {
            path = "\(AdminAPI.prefix)/trace?client=\(PercentEncoding.encode(self.client ?? ""))"
        }
        let json = self.options.json
        let interrupts = await UnixSignalsSequence(trapping: .sigint)
        let end = try await runAdminCommand {
            try await withThrowingTaskGroup(of: AdminClient.StreamEnd?.self) { group in
                group.addTask {
                    try await client.stream(path) { line in
                        if json {
                            Self.writeLine(line)
                        } else if let text = TraceText.line(line) {
                            Self.writeLine(text)
                        }
                    }
                }
                group.addTask {
                    for await _ in interrupts { return nil }
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
        }
        if end == .cutOff {
            printError("ftplb: the admin API closed the trace before its end")
            throw ExitCode(1)
        }
    }

    /// Each event as it comes, unbuffered, also into a pipe or a file.
    private static func writeLine(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress! + written, $0.count - written) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else { return }
            written += result
        }
    }
}
