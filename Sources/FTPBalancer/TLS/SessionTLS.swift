import FTPBalancerConfig
import NIOCore
import NIOSSL

/// One FTP session's TLS towards its client: the service's context it began with, and the
/// session id context that binds every TLS session of this FTP session, control and data, to
/// it. A data connection can resume only a session issued on this FTP session's connections;
/// one from another FTP session gets a full handshake, which `session_reuse` then judges.
/// Confined to the session's event loop.
final class SessionTLS {
    let context: ClientTLSContext
    private let sessionContext: [UInt8]
    /// What the control connection's handshake negotiated, once it has ended.
    var control: TLSNegotiation?

    init(context: ClientTLSContext) {
        self.context = context
        var random = SystemRandomNumberGenerator()
        self.sessionContext = (0..<TLSConnectionInternals.maximumSessionContextLength).map { _ in random.next() }
    }

    var sessionReuse: ClientTLSConfiguration.SessionReuse { self.context.configuration.sessionReuse }

    /// What the session's data connections need of it, for the data path.
    var dataProtection: DataProtection {
        DataProtection(context: self.context, sessionContext: self.sessionContext)
    }

    /// A TLS server handler for the control connection.
    func makeHandler() -> NIOSSLServerHandler? {
        self.dataProtection.makeHandler()
    }
}

/// A `PROT P` data connection's needs: TLS server handlers bound to its FTP session.
package struct DataProtection: Sendable {
    let context: ClientTLSContext
    let sessionContext: [UInt8]

    var sessionReuse: ClientTLSConfiguration.SessionReuse { self.context.configuration.sessionReuse }

    /// A TLS server handler for one of the session's connections; nil only if the TLS library
    /// refused the binding (the start-up self-test makes that unexpected).
    func makeHandler() -> NIOSSLServerHandler? {
        let handler = NIOSSLServerHandler(context: self.context.context)
        guard let ssl = TLSConnectionInternals.connection(of: handler),
            TLSConnectionInternals.setSessionContext(self.sessionContext, on: ssl)
        else { return nil }
        return handler
    }
}

/// What a finished handshake agreed on.
package struct TLSNegotiation: Equatable, Sendable {
    package var version: String
    package var cipher: String
    package var resumed: Bool

    /// Read from the handler of a connection whose handshake has just completed.
    init?(_ handler: NIOSSLHandler) {
        guard let ssl = TLSConnectionInternals.connection(of: handler) else { return nil }
        self.version = TLSConnectionInternals.versionName(ssl)
        self.cipher = TLSConnectionInternals.cipherName(ssl) ?? "unknown"
        self.resumed = TLSConnectionInternals.sessionResumed(ssl)
    }

    package init(version: String, cipher: String, resumed: Bool) {
        self.version = version
        self.cipher = cipher
        self.resumed = resumed
    }
}
