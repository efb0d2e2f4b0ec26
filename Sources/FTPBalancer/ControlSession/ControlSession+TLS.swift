import FTPProtocol
import NIOCore
import NIOSSL

/// The client's TLS: the control connection's (after AUTH TLS, or from accept on an implicit
/// listener) and the protected data connections', which must resume one of its sessions.
extension ControlSession {
    /// An implicit-TLS service's control connection is TLS from its first byte.
    func implicitTLSHandler() throws -> [ChannelHandler] {
        guard let tls = self.tls, tls.context.configuration.mode == .implicit else { return [] }
        guard let handler = tls.makeHandler() else { throw Self.tlsBindingError }
        self.clientTLSHandler = handler
        return [handler]
    }

    private static let tlsBindingError = BalancerError(.tlsUnavailable, "the TLS library refused to bind a connection to its session")

    /// The 234 is out: what the client sends next is its TLS handshake.
    func startClientTLS() {
        guard let tls = self.tls, let handler = tls.makeHandler() else {
            self.logger.error("cannot start TLS on the control connection", metadata: ["ftp.error": "\(Self.tlsBindingError)"])
            self.clientChannel.close(promise: nil)
            return
        }
        self.clientTLSHandler = handler
        self.clientHandler?.startTLS(handler)
    }

    /// The control connection failed before its handshake ended: the client refused the
    /// certificate, spoke something else, or went away.
    func clientTLSFailed(_ error: any Error) {
        guard self.clientTLSHandler != nil, self.tls?.control == nil else { return }
        self.service.statistics.tlsHandshake(connection: "control", result: "failed")
        self.logger.notice("client TLS handshake failed", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
    }

    /// The control connection's handshake has completed.
    func clientTLSEstablished() {
        guard let handler = self.clientTLSHandler, let negotiation = TLSNegotiation(handler) else { return }
        self.tls?.control = negotiation
        self.service.statistics.tlsHandshake(connection: "control", result: "ok")
        self.logger.info(
            "client TLS established",
            metadata: ["ftp.tls.version": "\(negotiation.version)", "ftp.tls.cipher": "\(negotiation.cipher)"]
        )
    }

    /// `PROT P`: what the session's next data connection needs for its client side.
    var dataProtection: DataProtection? {
        guard let tls = self.tls, self.machine.security?.protection == .private else { return nil }
        return tls.dataProtection
    }

    /// What the next data connection needs: TLS on its client side (`PROT P`), on its server side
    /// (the server's `PROT P`), and the path that can carry it. Protected connections go through
    /// the TLS relay on SwiftNIO's event loops; clear ones stay on the configured path (splice).
    var nextDataConnection: (protection: DataProtection?, serverProtection: ServerDataProtection?, path: any DataPath) {
        let protection = self.dataProtection
        let serverProtection = self.serverDataProtection
        return (protection, serverProtection, protection == nil && serverProtection == nil ? self.dataPath : NIODataPath())
    }

    func protectedDataConnecting() {
        self.machine.protectedDataConnecting()
    }

    func protectedDataSettled(_ outcome: ProtectedDataOutcome) {
        let verdict: StateMachine.ProtectedDataVerdict
        switch outcome {
        case .resumed(let negotiation), .notResumed(let negotiation):
            verdict = .accepted
            self.service.statistics.tlsHandshake(connection: "data", result: "ok")
            self.service.statistics.tlsSessionReuse(result: negotiation.resumed ? "resumed" : "not_resumed")
            if !negotiation.resumed {
                self.logger.notice(
                    "protected data connection did not resume the session's TLS session; allowed by session_reuse",
                    metadata: ["ftp.tls.session_reuse": "\(self.tls?.sessionReuse.rawValue ?? "")"]
                )
            }
        case .refused:
            verdict = .refused
            self.service.statistics.tlsHandshake(connection: "data", result: "ok")
            self.service.statistics.tlsSessionReuse(result: "refused")
            self.logger.warning(
                "protected data connection refused: it did not resume a TLS session of this FTP session",
                metadata: ["ftp.tls.session_reuse": "required"]
            )
        case .failed(let reason):
            verdict = .failed
            self.service.statistics.tlsHandshake(connection: "data", result: "failed")
            self.logger.notice("protected data connection failed before its TLS handshake ended", metadata: ["ftp.error": "\(reason)"])
        }
        self.perform(self.machine.protectedDataSettled(verdict))
    }
}
