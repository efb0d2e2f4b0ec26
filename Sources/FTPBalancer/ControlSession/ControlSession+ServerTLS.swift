import FTPProtocol
import Logging
import NIOCore
import NIOSSL

/// `server_tls:`: the balancer as the TLS client of its server, on the control connection
/// (implicit from the connect, or after its own AUTH TLS) and on `PROT P` data connections,
/// which offer the control connection's newest session.
extension ControlSession {
    /// What the session's server connection goes through before the client's first command.
    var serverSecuring: StateMachine.ServerSecuring? {
        guard let context = self.service.serverTLS else { return nil }
        return StateMachine.ServerSecuring(
            startsWithTLS: context.configuration.mode == .implicit,
            start: context.configuration.mode == .matchClient ? .withClientTLS : .atGreeting,
            protection: context.protectionPolicy
        )
    }

    /// An implicit server connection is TLS from its first byte.
    func implicitServerTLSHandler() throws -> [ChannelHandler] {
        guard let context = self.service.serverTLS, context.configuration.mode == .implicit else { return [] }
        guard let handler = self.makeServerTLSHandler(context) else { throw Self.serverTLSError }
        return [handler]
    }

    /// The server's 234 is in: the handshake begins; the PBSZ that follows waits in the handler.
    func startServerTLS() {
        guard let context = self.service.serverTLS, let handler = self.makeServerTLSHandler(context) else {
            return self.serverSecuringFailed("\(Self.serverTLSError)", reply: nil)
        }
        do {
            try self.serverHandler?.startClientTLS(handler)
        } catch {
            self.serverSecuringFailed("cannot start TLS: \(OperatorText.describe(error))", reply: nil)
        }
    }

    private func makeServerTLSHandler(_ context: ServerTLSContext) -> NIOSSLClientHandler? {
        let sessions = ServerSessionStore()
        guard let handler = context.makeControlHandler(keepingSessionsIn: sessions) else { return nil }
        self.serverSessions = sessions
        self.serverTLSHandler = handler
        return handler
    }

    private static let serverTLSError = BalancerError(.tlsUnavailable, "the TLS library refused a connection to the server")

    func serverTLSEstablished() {
        guard let handler = self.serverTLSHandler, let negotiation = TLSNegotiation(handler) else { return }
        self.serverControlTLS = negotiation
        self.service.statistics.tlsHandshake(side: "server", connection: "control", result: "ok")
        self.logger.info(
            "server TLS established",
            metadata: ["ftp.tls.version": "\(negotiation.version)", "ftp.tls.cipher": "\(negotiation.cipher)"]
        )
    }

    /// The server control connection failed while it was being secured: its certificate was
    /// refused, or it spoke no TLS.
    func serverTLSFailed(_ error: any Error) {
        guard self.serverTLSHandler != nil else { return }
        let reason = "TLS handshake failed: \(OperatorText.describe(error))"
        if self.machine.securingServer { return self.serverSecuringFailed(reason, reply: nil) }
        // Implicit, before the greeting: the close that follows tries the next server.
        guard self.machine.relaying?.greeted == false else { return }
        self.service.statistics.tlsHandshake(side: "server", connection: "control", result: "failed")
        self.logger.warning("server TLS handshake failed", metadata: ["ftp.error": "\(reason)"])
    }

    /// The server cannot be secured: a failed connect for its health, and the client gets a 421.
    func serverSecuringFailed(_ reason: String, reply: String?) {
        if self.serverTLSHandler != nil, self.machine.securingServer {
            self.service.statistics.tlsHandshake(side: "server", connection: "control", result: "failed")
        }
        var metadata: Logger.Metadata = ["ftp.error": "\(reason)"]
        if let reply { metadata["ftp.server.reply"] = "\(reply)" }
        self.logger.error("cannot secure the connection to the server", metadata: metadata)
        if let lease = self.lease {
            // Given back here, once (connectFailed releases it): the session's end must not
            // release it again, which would take a slot off another session's count.
            self.lease = nil
            self.service.pool.connectFailed(lease, reason: reason)
        }
        self.perform(self.machine.end(reply: BalancerReply.serverTLSFailed, reason: .serverTLSFailed))
    }

    /// `PROT P` towards the server (now, under `protection: client`): what the session's next
    /// data connection needs for its server side.
    var serverDataProtection: ServerDataProtection? {
        guard let context = self.service.serverTLS, self.machine.serverProtectsData, let sessions = self.serverSessions else {
            return nil
        }
        return ServerDataProtection(context: context, sessions: sessions)
    }

    func serverDataTLSSettled(_ outcome: ServerDataTLSOutcome) {
        switch outcome {
        case .established(let negotiation):
            self.service.statistics.tlsHandshake(side: "server", connection: "data", result: "ok")
            self.service.statistics.tlsSessionReuse(side: "server", result: negotiation.resumed ? "resumed" : "not_resumed")
            if !negotiation.resumed {
                self.logger.notice("server data connection did not resume the server control connection's TLS session")
            }
        case .failed(let reason):
            self.service.statistics.tlsHandshake(side: "server", connection: "data", result: "failed")
            self.logger.notice("server data connection failed before its TLS handshake ended", metadata: ["ftp.error": "\(reason)"])
        }
    }
}
