/// The replies the balancer writes itself rather than relays, in one table: the same failure
/// reads the same wherever it happens, and a test or a client's script can rely on the text.
package enum BalancerReply {
    // Data connections.
    package static let cannotOpenDataConnection = "425 Cannot open data connection."
    package static let noPassivePort = "425 Cannot open data connection: no passive port available."
    package static let clientUnreachable = "425 Cannot open data connection to the address and port you named."
    package static let passivePortExpired = "425 Cannot open data connection: the passive port timed out; send PASV or EPSV again."
    /// RFC 4217's text, as vsftpd and ProFTPD word it: clients and scripts match on it.
    package static let dataSessionNotResumed = "425 Unable to build data connection: TLS session of data connection not resumed."
    package static let unusablePassiveReply = "425 Cannot open data connection: the server's passive reply was unusable."

    // Commands the balancer answers itself.
    package static let commandTooLong = "500 Command line too long."
    package static let tlsUnavailable = "534 TLS is not available through this load balancer."

    // per_user, before USER: the balancer greets and answers until it knows the user.
    package static let userNameMissing = "501 USER needs a user name."
    package static let goodbye = "221 Goodbye."
    package static let noopOK = "200 NOOP ok."
    package static let logInFirst = "530 Please log in with USER and PASS first."

    // Ending a session.
    package static let shuttingDown = "421 Service shutting down; closing control connection."
    package static let idleTimeout = "421 Idle timeout: closing control connection."
    package static let loginTimeout = "421 Login timeout: closing control connection."
    package static let serverClosed = "421 The FTP server closed the connection; closing control connection."
    package static let serverReplyTimeout = "421 The FTP server did not answer in time; closing control connection."
    package static let serverTLSFailed = "421 Service not available: no secure connection to the FTP server."
    package static let serversFull = "421 Too many sessions: every server is at its limit; try again later."

    // Refused at accept.
    package static let serviceSessionLimit = "421 Too many sessions on this service; try again later."
    package static let clientSessionLimit = "421 Too many sessions from your address; try again later."
    package static let unauthenticatedLimit = "421 Too many connections from your address have not logged in; try again later."
    package static let shuttingDownNewConnection = "421 Service shutting down; try again later."
    package static let descriptorLimit = "421 Too many connections on the load balancer; try again later."

    /// The 421 of a service that has no server for a session: its `unavailable_message`.
    package static func unavailable(_ message: String) -> String {
        "421 \(message)"
    }
}
