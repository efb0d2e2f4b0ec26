/// `server_tls:` of a virtual service: FTPS from the balancer to the servers of its pool (as
/// ProFTPD mod_proxy's ProxyTLSEngine and ProxyTLSTransferProtectionPolicy). Absent, or
/// `mode: off`: plain FTP to the servers.
package struct ServerTLSConfiguration: Equatable, Sendable {
    package enum Mode: String, Equatable, Sendable, CaseIterable {
        /// The balancer sends AUTH TLS after the server's greeting.
        case explicit
        /// TLS from the TCP connect (servers usually on port 990).
        case implicit
    }

    /// The data connections' protection towards the servers, set once before the client's first
    /// command reaches the server, whatever the client chose for its own side.
    package enum Protection: String, Equatable, Sendable, CaseIterable {
        /// `PROT P`: every data connection to the server is TLS, resuming the control session's.
        case required
        /// `PROT C`: data connections to the server are plain.
        case clear
    }

    package var mode: Mode
    package var protection: Protection
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
        return "\(self.mode.rawValue), \(self.protection == .required ? "PROT P" : "PROT C"), \(verification)"
    }
}
