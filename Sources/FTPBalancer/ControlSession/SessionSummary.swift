import FTPProtocol
import Logging
import NIOCore

/// What the log line at the end of a control session says.
struct SessionSummary {
    /// How a session ended.
    enum Ending: String {
        case quit = "client_quit"
        case clientClosed = "client_closed"
        case serverClosed = "server_closed"
        case idleTimeout = "idle_timeout"
        case loginTimeout = "login_timeout"
        case serverTimeout = "server_timeout"
        case noServer = "no_server"
        case shutdown = "shutdown"
        case serverTLSFailed = "server_tls_failed"
    }

    let started = NIODeadline.now()
    var server: String?
    /// The server's address, kept after the lease goes back: a data connection that began just
    /// before the session ended is logged after it.
    var serverAddress: String?
    var user: String?
    var lastVerb: String?
    /// For the admin API: the last command, a password masked.
    var lastCommand: String?
    var dataConnections: [DataConnectionMode: Int] = [:]
    var bytesToClient = 0
    var bytesToServer = 0
    var ending: Ending?

    /// Keeps what the summary needs of a command; never a password.
    mutating func noteCommand(_ command: FTPCommand) {
        let verb = command.verb
        self.lastVerb = verb
        self.lastCommand = String(command.loggableDescription.prefix(SessionSnapshot.lastCommandLimit))
        if verb == "USER" {
            // Bytes, not a String decode that could fail: the name is only logged.
            self.user = command.argument.map { String(decoding: $0.readableBytesView.prefix(64), as: UTF8.self) }
        }
    }

    func metadata(now: NIODeadline) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "ftp.user": "\(self.user ?? "-")",
            "ftp.bytes.to_client": "\(self.bytesToClient)",
            "ftp.bytes.to_server": "\(self.bytesToServer)",
            "ftp.duration.ms": "\((now - self.started).nanoseconds / 1_000_000)",
            "ftp.end": "\(self.ending?.rawValue ?? "unknown")",
        ]
        for mode in DataConnectionMode.allCases {
            metadata["ftp.data.\(mode.rawValue)"] = "\(self.dataConnections[mode, default: 0])"
        }
        return metadata
    }
}
