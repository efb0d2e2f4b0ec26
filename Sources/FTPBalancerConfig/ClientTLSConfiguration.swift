/// `tls:` of a virtual service: the balancer terminates FTPS from its clients (RFC 4217).
package struct ClientTLSConfiguration: Equatable, Sendable {
    package enum Mode: String, Equatable, Sendable, CaseIterable {
        /// The listener speaks plain FTP until the client sends `AUTH TLS`.
        case explicit
        /// The listener speaks TLS from accept (FTPS on port 990).
        case implicit
    }

    /// What a client must protect before the balancer lets it go on.
    package enum Requirement: String, Equatable, Sendable, CaseIterable {
        case none
        /// USER before AUTH gets 530 (vsftpd's force_local_logins_ssl).
        case login
        /// `login`, and transfers under `PROT C` get 534 (force_local_data_ssl).
        case data
    }

    /// Whether a protected data connection must resume a TLS session of its own FTP session.
    package enum SessionReuse: String, Equatable, Sendable, CaseIterable {
        /// Not resumed: the data connection is refused (vsftpd's require_ssl_reuse).
        case required
        /// Not resumed: logged and counted, the transfer goes on.
        case preferred
        /// Not checked.
        case off
    }

    package enum Version: String, Equatable, Sendable, CaseIterable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// A certificate chain and its key, as PEM files.
    package struct Identity: Equatable, Sendable {
        package var certificateFile: String
        package var privateKeyFile: String

        package init(certificateFile: String, privateKeyFile: String) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
        }
    }

    package var mode: Mode
    /// Offered to a client that names no server, or one no other identity's certificate names.
    package var identity: Identity
    /// More certificates on the same listener, chosen by the name the client sends (SNI).
    package var sniIdentities: [Identity]
    package var minVersion: Version
    /// An OpenSSL cipher list for TLS 1.2; nil keeps the library's default. (TLS 1.3 suites
    /// are not configurable in the library.)
    package var ciphers: String?
    package var require: Requirement
    package var sessionReuse: SessionReuse

    package init(
        mode: Mode,
        identity: Identity,
        sniIdentities: [Identity] = [],
        minVersion: Version = .tls12,
        ciphers: String? = nil,
        require: Requirement = .none,
        sessionReuse: SessionReuse = .required
    ) {
        self.mode = mode
        self.identity = identity
        self.sniIdentities = sniIdentities
        self.minVersion = minVersion
        self.ciphers = ciphers
        self.require = require
        self.sessionReuse = sessionReuse
    }
}
