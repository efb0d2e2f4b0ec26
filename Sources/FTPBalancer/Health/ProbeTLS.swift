import NIOCore
import NIOSSL

/// `server_tls:` in a health check: the probe secures its control connection as client sessions
/// do (TLS from the connect when implicit, else AUTH TLS after the greeting; then PBSZ 0 and
/// PROT), and under `PROT P` its data connection offers the control connection's TLS session,
/// which servers that require reuse (vsftpd's require_ssl_reuse, ProFTPD's default) insist on.
struct ProbeTLS: Sendable {
    let context: ServerTLSContext
    let sessions = ServerSessionStore()

    var startsWithTLS: Bool { self.context.configuration.mode == .implicit }

    /// The control connection's TLS handler, keeping its sessions for the data connection.
    func controlHandler() throws -> NIOSSLClientHandler {
        guard let handler = self.context.makeControlHandler(keepingSessionsIn: self.sessions) else {
            throw ProbeFailure("the TLS library refused a connection to the server")
        }
        return handler
    }

    /// After the greeting: AUTH TLS (explicit), PBSZ 0 and PROT, as the balancer's sessions send.
    func secure(_ session: inout ProbeSession, control: any Channel) async throws {
        if !self.startsWithTLS {
            try await session.expect(234, after: "AUTH TLS", step: "AUTH TLS")
            // The server sends nothing after its 234 until our ClientHello: no byte is read ahead.
            try await control.eventLoop.submit {
                try control.pipeline.syncOperations.addHandler(self.controlHandler(), position: .first)
            }.get()
        }
        // Any 2xx, as the sessions' own securing takes it (ServerSecuring).
        for command in ["PBSZ 0", self.protCommand] {
            let reply = try await session.command(command, step: command)
            guard (200..<300).contains(reply.code) else { throw ProbeFailure("\(command) answered \(reply.text)") }
        }
    }

    var protCommand: String { self.context.checksProtectData ? "PROT P" : "PROT C" }

    /// Adds the TLS handler a data connection needs under `PROT P`; nothing under `PROT C`.
    func secureData(_ channel: any Channel) throws {
        guard self.context.checksProtectData else { return }
        guard let handler = ServerDataProtection(context: self.context, sessions: self.sessions).makeHandler() else {
            throw ProbeFailure("the TLS library refused a data connection to the server")
        }
        try channel.pipeline.syncOperations.addHandler(handler)
    }
}
