/// The FTPS commands of RFC 4217 (AUTH, PBSZ, PROT, CCC), which the balancer answers itself
/// because it terminates TLS, and what a service's `tls.require` asks of a client. No I/O: the
/// session asks it first about each client command and performs its decision.
package struct ControlChannelSecurity: Equatable, Sendable {
    /// What the service offers: nothing (AUTH gets 534), AUTH TLS on a plain listener, or TLS
    /// from accept.
    package enum Offer: Equatable, Sendable {
        case none, explicit, implicit
    }

    /// `tls.require`: `login` refuses USER before AUTH; `data` also refuses transfers under
    /// `PROT C`.
    package enum Requirement: Equatable, Sendable {
        case none, login, data
    }

    /// What `PROT` set: whether data connections are TLS.
    package enum Protection: String, Equatable, Sendable {
        case clear = "C"
        case `private` = "P"
    }

    package enum Decision: Equatable, Sendable {
        /// Not an FTPS matter: the session handles the command as it would without TLS.
        case pass
        /// Answer the client with this reply; nothing goes to the server.
        case answer(String)
        /// Answer and log the refusal.
        case refuse(String, ControlSessionStateMachine.Refusal)
        /// Send this reply (234), then the TLS handshake begins on the control connection.
        case startTLS(String)
    }

    package let offer: Offer
    package let requirement: Requirement
    /// TLS runs on the control connection, or begins right after the 234 now being sent.
    package private(set) var tlsActive: Bool
    package private(set) var bufferSizeSet = false
    package private(set) var protection = Protection.clear

    package init(offer: Offer, requirement: Requirement = .none) {
        self.offer = offer
        self.requirement = offer == .none ? .none : requirement
        self.tlsActive = offer == .implicit
    }

    package mutating func clientCommand(_ command: FTPCommand) -> Decision {
        switch command.verb {
        case "AUTH":
            return self.authenticate(command.asciiArgument?.uppercased() ?? "")
        case "PBSZ" where self.offer != .none:
            guard self.tlsActive else { return .answer("503 Send AUTH TLS before PBSZ.") }
            guard let size = command.asciiArgument, !size.isEmpty else { return .answer("501 PBSZ needs an argument: PBSZ 0.") }
            // RFC 4217 section 9: for TLS the buffer size is 0, whatever the client asked.
            self.bufferSizeSet = true
            return .answer("200 PBSZ=0")
        case "PROT" where self.offer != .none:
            return self.protect(command.asciiArgument?.uppercased() ?? "")
        case "CCC" where self.offer != .none:
            return .refuse("534 CCC refused: the control connection stays encrypted.", .unsupportedCommand)
        case "USER" where self.requirement != .none && !self.tlsActive:
            return .refuse("530 Log in over TLS: send AUTH TLS first.", .tlsRequired)
        case _ where self.requirement == .data && self.protection == .clear && FTPCommand.dataConnectionVerbs.contains(command.verb):
            return .refuse("534 Data connections must be encrypted: send PBSZ 0 and PROT P first.", .protectionRequired)
        default:
            return .pass
        }
    }

    private mutating func authenticate(_ mechanism: String) -> Decision {
        guard self.offer != .none else { return .refuse(BalancerReply.tlsUnavailable, .tlsUnavailable) }
        guard !self.tlsActive else { return .answer("503 TLS is already active on this connection.") }
        switch mechanism {
        case "TLS", "TLS-C":
            self.tlsActive = true
            return .startTLS("234 AUTH \(mechanism) successful; start the TLS handshake.")
        case "SSL", "TLS-P":
            // The legacy mechanisms protect data connections too (draft-murray-auth-ftp-ssl).
            self.tlsActive = true
            self.bufferSizeSet = true
            self.protection = .private
            return .startTLS("234 AUTH \(mechanism) successful; start the TLS handshake.")
        default:
            return .answer("504 AUTH type not supported; use AUTH TLS.")
        }
    }

    private mutating func protect(_ level: String) -> Decision {
        guard self.tlsActive else { return .answer("503 Send AUTH TLS before PROT.") }
        guard self.bufferSizeSet else { return .answer("503 Send PBSZ 0 before PROT.") }
        switch level {
        case "C":
            self.protection = .clear
            return .answer("200 Protection level set to Clear.")
        case "P":
            self.protection = .private
            return .answer("200 Protection level set to Private.")
        case "S", "E":
            return .answer("536 Protection level \(level) is not supported; use C or P.")
        default:
            return .answer("504 Unknown protection level; use C or P.")
        }
    }

    /// The lines a FEAT reply gains when the service offers TLS.
    package var features: [String] {
        self.offer == .none ? [] : [" AUTH TLS", " PBSZ", " PROT"]
    }
}
