import Logging

/// Who may make the one data connection a data listener waits for: the peer its control session
/// expects (the client on a passive port, the server on an active-mode listener), and only once.
/// The rule of every one-shot listener of both data paths, with the words of its refusals.
struct DataConnectionAdmission: Sendable {
    /// What the listener is for, which decides the words of its refusals.
    enum Listener: Equatable, Sendable {
        /// A passive port, for the session's client; a stranger there is a misrouted connection.
        case passive(port: Int)
        /// An active-mode listener for the session's server, the plain one or a translated
        /// passive connection's server side.
        case active
        /// The client's port of a translated passive data connection.
        case translatedPassive(port: Int)
    }

    enum Decision: Equatable, Sendable {
        case admit
        case refuse(Refusal)
    }

    /// A refused connection, and what to say about it.
    struct Refusal: Equatable, Sendable {
        enum Reason: Equatable, Sendable {
            /// A connection after the one admitted.
            case secondConnection
            /// From an address other than the expected peer's.
            case otherPeer
            /// The listener has nothing left to relay to (the connection to the client is gone).
            case closed
        }

        var reason: Reason
        var peer: String
        var report: Report
    }

    /// What a refusal leaves behind: a log line, or for a stranger on a passive port a count
    /// in `MisroutedDataConnections`, which logs each address once.
    enum Report: Equatable, Sendable {
        case log(Message)
        case misrouted(port: Int)
    }

    /// One line of the log, in operator words.
    struct Message: Equatable, Sendable {
        var level: Logger.Level
        var text: String
        var metadata: [String: String]
    }

    let listener: Listener
    /// The canonical address of the only peer admitted (`IPAddress.canonical`).
    let expectedPeer: String
    /// Set once a connection is admitted: every later one is refused.
    private(set) var admitted = false

    init(_ listener: Listener, expectedPeer: String) {
        self.listener = listener
        self.expectedPeer = expectedPeer
    }

    /// A connection from `peer` (canonical, "?" when unknown). `open` is false when the listener
    /// can no longer use a connection. Admits at most one.
    mutating func decide(peer: String, open: Bool = true) -> Decision {
        let reason: Refusal.Reason
        if self.admitted {
            reason = .secondConnection
        } else if peer != self.expectedPeer {
            reason = .otherPeer
        } else if !open {
            reason = .closed
        } else {
            self.admitted = true
            return .admit
        }
        return .refuse(Refusal(reason: reason, peer: peer, report: self.report(for: reason, peer: peer)))
    }

    private func report(for reason: Refusal.Reason, peer: String) -> Report {
        switch self.listener {
        case .passive(let port):
            guard reason != .otherPeer else { return .misrouted(port: port) }
            return .log(
                Message(
                    level: .notice,
                    text: "refused a second connection to a passive port",
                    metadata: ["ftp.peer": peer]
                )
            )
        case .active:
            return .log(
                Message(
                    level: .warning,
                    text: "refused a connection to an active-mode listener",
                    metadata: ["ftp.peer": peer, "ftp.expected": self.expectedPeer]
                )
            )
        case .translatedPassive(let port):
            return .log(
                Message(
                    level: .warning,
                    text: "refused a passive data connection from an address other than the client's, or a second one",
                    metadata: ["ftp.peer": peer, "ftp.port": "\(port)"]
                )
            )
        }
    }
}

extension DataConnectionAdmission {
    /// `decide`, with a refusal logged (or counted as misrouted): what every listener does.
    mutating func admits(
        peer: String,
        open: Bool = true,
        logger: Logger,
        misrouted: MisroutedDataConnections? = nil
    ) -> Bool {
        guard case .refuse(let refusal) = self.decide(peer: peer, open: open) else { return true }
        switch refusal.report {
        case .log(let message):
            logger.log(level: message.level, "\(message.text)", metadata: message.metadata.mapValues { .string($0) })
        case .misrouted(let port):
            misrouted?.record(peer: refusal.peer, port: port, logger: logger)
        }
        return false
    }
}
