/// `server_tls:` of a virtual service: FTPS from the balancer to the servers of its pool (as
/// ProFTPD mod_proxy's ProxyTLSEngine and ProxyTLSTransferProtectionPolicy). Absent, or
/// `mode: off`: plain FTP to the servers.
package struct ServerTLSConfiguration: Equatable, Sendable {
    package enum Mode: String, Equatable, Sendable, CaseIterable {
        /// The balancer sends AUTH TLS after the server's greeting.
        case explicit
        /// TLS from the TCP connect (servers usually on port 990).
        case implicit
        /// AUTH TLS to the server when the client's control connection is TLS (from accept, or
        /// after its AUTH TLS, before its login), plain FTP when it is not.
        case matchClient = "match_client"
    }

    /// The data connections' protection towards the servers.
    package enum Protection: String, Equatable, Sendable, CaseIterable {
        /// `PROT P`, set before the client's first command reaches the server: every data
        /// connection to the server is TLS, resuming the control session's.
        case required
        /// `PROT C`: data connections to the server are plain.
        case clear
        /// The client's own `PROT`, passed on when it changes: its protected transfers are
        /// protected towards the server too, its clear ones clear.
        case client
    }

    package var mode: Mode
    package var protection: Protection
    /// The mode or the protection follows the client's TLS, which needs the service's `tls:`.
    package var followsClient: Bool { self.mode == .matchClient || self.protection == .client }
    /// PEM file of the certificate authorities the servers' certificates must chain to; nil:
    /// the system's trust store.
    package var caFile: String?
    /// false: any certificate is accepted (logged as a warning at start).
    package var verify: Bool

    package init(mode: Mode, protection: Protection = .required, caFile: String? = nil, verify: Bool = true) {
        self.mode = mode
        self.protection = protection
        self.caFile = caFile
        self.verify = verify
    }
}

extension ServerTLSConfiguration {
    /// For `check-config`: `explicit, PROT P, CA /etc/ftplb/ca.pem`.
    var summary: String {
        let verification =
            self.verify ? "certificates verified against \(self.caFile ?? "the system's CAs")" : "certificates NOT verified"
        let protection =
            switch self.protection {
            case .required: "PROT P"
            case .clear: "PROT C"
            case .client: "PROT as the client's"
            }
        return "\(self.mode.rawValue), \(protection), \(verification)"
    }
}
