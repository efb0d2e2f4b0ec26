import FTPBalancerConfig
import NIOSSL

/// What a virtual service needs to speak FTPS to its servers: one client `NIOSSLContext` for
/// control and data connections, whose new sessions are kept per control connection, and the
/// `server_tls:` policy. Made at start and on reload, like `ClientTLSContext`.
package final class ServerTLSContext: Sendable {
    package let configuration: ServerTLSConfiguration
    let context: NIOSSLContext

    /// The chain is verified against `ca` (or the system's roots), not the host name: servers
    /// are configured by address, and their certificates rarely name it.
    package init(configuration: ServerTLSConfiguration) throws(TLSMaterialError) {
        self.configuration = configuration
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = configuration.verify ? .noHostnameVerification : .none
        if let ca = configuration.caFile {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            } catch {
                throw TLSMaterialError(file: ca, problem: "no PEM certificate could be read")
            }
        }
        do {
            self.context = try NIOSSLContext(configuration: tls)
        } catch {
            throw TLSMaterialError(file: configuration.caFile ?? "server_tls", problem: "cannot be used for TLS")
        }
        if let problem = TLSConnectionInternals.selfTestClient(context: self.context) {
            throw TLSMaterialError(file: "server_tls", problem: "TLS self-test failed: \(problem)")
        }
        guard TLSConnectionInternals.enableClientSessions(on: self.context) else {
            throw TLSMaterialError(file: "server_tls", problem: "TLS self-test failed: sessions cannot be kept")
        }
    }

    /// What the sessions send as `PROT` to the servers.
    var protectionPolicy: ControlSession.StateMachine.ServerSecuring.ProtectionPolicy {
        switch self.configuration.protection {
        case .required: .fixed(.private)
        case .clear: .fixed(.clear)
        case .client: .client
        }
    }

    /// Health checks, which have no client to follow, use `PROT P` unless `protection: clear`.
    var checksProtectData: Bool { self.configuration.protection != .clear }

    /// A TLS client handler for a server control connection, keeping its sessions in `store`.
    func makeControlHandler(keepingSessionsIn store: ServerSessionStore) -> NIOSSLClientHandler? {
        guard let handler = try? NIOSSLClientHandler(context: self.context, serverHostname: nil),
            let ssl = TLSConnectionInternals.connection(of: handler),
            TLSConnectionInternals.keepSessions(of: ssl, in: store)
        else { return nil }
        return handler
    }
}

/// A data connection's needs towards a `PROT P` server: TLS client handlers offering the
/// newest session of the FTP session's server control connection.
package struct ServerDataProtection: Sendable {
    let context: ServerTLSContext
    let sessions: ServerSessionStore

    /// nil only if the TLS library refused the handler or the session.
    func makeHandler() -> NIOSSLClientHandler? {
        guard let handler = try? NIOSSLClientHandler(context: self.context.context, serverHostname: nil),
            let ssl = TLSConnectionInternals.connection(of: handler)
        else { return nil }
        let offered = self.sessions.withNewest { session in
            session.map { TLSConnectionInternals.offer($0, on: ssl) } ?? true
        }
        return offered ? handler : nil
    }
}
