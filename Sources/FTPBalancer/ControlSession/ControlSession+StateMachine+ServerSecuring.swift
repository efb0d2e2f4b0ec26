import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// `server_tls:`: the balancer's own AUTH TLS, PBSZ and PROT to the server, after its greeting
    /// and before the client's first command reaches it. Its replies are the balancer's, never
    /// relayed; the client's lines wait meanwhile, as they do for the greeting.
    struct ServerSecuring {
        typealias Protection = ControlChannelSecurity.Protection

        /// When the server connection is secured: after its greeting (`explicit`, `implicit`),
        /// or once the client's control connection is TLS (`match_client`).
        enum Start: Equatable {
            case atGreeting, withClientTLS
        }

        /// The server's `PROT`: one level for the whole session, or the client's own.
        enum ProtectionPolicy: Equatable {
            case fixed(Protection)
            case client
        }

        enum Step: Equatable {
            /// `refused`: the server refused securing; the session ends, and no client command
            /// may reach that server meanwhile (its USER and PASS would go unprotected).
            case awaitingGreeting, awaitingClientTLS, auth, pbsz, prot, secured, refused
        }

        private(set) var step = Step.awaitingGreeting
        /// The control connection is TLS from its connect (implicit): no AUTH.
        let startsWithTLS: Bool
        let start: Start
        let policy: ProtectionPolicy
        /// What the client's own AUTH and PROT have set, as far as this policy follows them.
        private var clientTLS = false
        private var clientProtection = Protection.clear
        /// The level the server has taken, once it has answered a `PROT`.
        private(set) var serverProtection: Protection?
        private var sentProtection = Protection.clear
        /// `.serverGreeted` was given: the server counts as reached.
        private var reached = false
        private var framer = ReplyFramer()

        init(startsWithTLS: Bool, start: Start = .atGreeting, protection policy: ProtectionPolicy) {
            self.startsWithTLS = startsWithTLS
            self.start = start
            self.policy = policy
        }

        /// A command of the balancer's is out and its reply not yet in.
        var awaitsServer: Bool { self.step == .auth || self.step == .pbsz || self.step == .prot }

        /// The server's lines are the balancer's to read: its own command is out, or securing
        /// was refused and the session is ending (nothing more of that server's reaches the client).
        var readsServerLines: Bool { self.awaitsServer || self.step == .refused }

        /// The client's lines wait: the server's lines are the balancer's, or a command of its
        /// own is due once the server owes nothing (`sendDue`).
        var holdsCommands: Bool { self.readsServerLines || self.hasDueCommand }

        private var hasDueCommand: Bool {
            switch self.step {
            case .awaitingClientTLS: self.clientTLS
            case .secured: self.serverProtection != nil && self.serverProtection != self.wantedProtection
            case .awaitingGreeting, .auth, .pbsz, .prot, .refused: false
            }
        }

        private var wantedProtection: Protection {
            switch self.policy {
            case .fixed(let protection): protection
            case .client: self.clientProtection
            }
        }

        /// The greeting has ended: the first command goes out, unless securing waits for the
        /// client's TLS, in which case the server is reached as it is.
        mutating func greeted() -> [Action] {
            guard self.step == .awaitingGreeting else { return [] }
            guard self.start == .atGreeting || self.clientTLS else {
                self.step = .awaitingClientTLS
                self.reached = true
                return [.serverGreeted]
            }
            return self.begin()
        }

        private mutating func begin() -> [Action] {
            if self.startsWithTLS {
                self.step = .pbsz
                return [.sendServer(Self.pbsz)]
            }
            self.step = .auth
            return [.sendServer(Self.auth)]
        }

        /// After each client command the balancer answered: its TLS (which `match_client`
        /// follows while the client has not logged in) and its `PROT` (`protection: client`).
        mutating func follow(_ security: ControlChannelSecurity, loggedIn: Bool) {
            if !loggedIn || self.step != .awaitingClientTLS { self.clientTLS = security.tlsActive }
            self.clientProtection = security.protection
        }

        /// The command due now that the server owes nothing: AUTH TLS for a client that has
        /// started TLS, or the client's new protection level.
        mutating func sendDue() -> [Action] {
            guard self.hasDueCommand else { return [] }
            if self.step == .awaitingClientTLS { return self.begin() }
            return self.sendProt()
        }

        private mutating func sendProt() -> [Action] {
            self.step = .prot
            self.sentProtection = self.wantedProtection
            return [.sendServer(self.sentProtection == .private ? Self.protPrivate : Self.protClear)]
        }

        /// A line of the server's reply to the current command. A refusal while securing ends the
        /// session; a refused change of protection keeps the server's level.
        mutating func reply(_ line: ByteBuffer) -> [Action] {
            let framed = self.framer.classify(line)
            guard framed.position == .single || framed.position == .closing else { return [] }
            let code = framed.code ?? 0
            switch (self.step, code) {
            case (.auth, 234):
                self.step = .pbsz
                // Written behind the TLS handler, which holds it until the handshake is done.
                return [.startServerTLS, .sendServer(Self.pbsz)]
            case (.pbsz, 200..<300) where self.policy == .client && self.wantedProtection == .clear:
                // Clear is every server's level after PBSZ (RFC 4217): a PROT waits until the
                // client asks for P, so a server that refuses PROT C still serves P sessions.
                return self.secured(at: .clear)
            case (.pbsz, 200..<300):
                return self.sendProt()
            case (.prot, 200..<300):
                return self.secured(at: self.sentProtection)
            case (.prot, _) where self.serverProtection != nil:
                let refused = Action.serverProtectionRefused(command: self.commandName, reply: String(buffer: line))
                self.step = .secured
                // Not asked again until the client changes its level once more.
                self.clientProtection = self.serverProtection ?? .clear
                return [refused]
            case (.auth, _), (.pbsz, _), (.prot, _):
                let refused = Action.serverSecuringRefused(command: self.commandName, reply: String(buffer: line))
                self.step = .refused
                return [refused]
            case (.awaitingGreeting, _), (.awaitingClientTLS, _), (.secured, _), (.refused, _):
                return []
            }
        }

        private mutating func secured(at protection: Protection) -> [Action] {
            self.step = .secured
            self.serverProtection = protection
            guard !self.reached else { return [] }
            self.reached = true
            return [.serverGreeted]
        }

        private var commandName: String {
            switch self.step {
            case .auth: "AUTH TLS"
            case .pbsz: "PBSZ 0"
            default: self.sentProtection == .private ? "PROT P" : "PROT C"
            }
        }

        /// The client's own PBSZ, PROT and CCC, when the balancer does not answer them (no
        /// `tls:`), must not change the server connection the balancer secured.
        static func refusal(of command: FTPCommand) -> String? {
            ["PBSZ", "PROT", "CCC"].contains(command.verb)
                ? "534 \(command.verb) refused: this service offers no TLS to clients." : nil
        }

        static let auth = FTPCommand(verb: "AUTH", argument: "TLS")
        static let pbsz = FTPCommand(verb: "PBSZ", argument: "0")
        static let protPrivate = FTPCommand(verb: "PROT", argument: "P")
        static let protClear = FTPCommand(verb: "PROT", argument: "C")
    }

    /// A server reached: its connection is secured first when `securing` is given (and, for
    /// `match_client`, when the client already speaks TLS).
    mutating func serverConnected(rules: Rules, securing: ServerSecuring?) -> [Action] {
        let actions = self.serverConnected(rules: rules)
        if var securing {
            self.modifyRelaying { relaying in
                securing.follow(relaying.security, loggedIn: false)
                relaying.serverSecuring = securing
            }
        }
        return actions
    }

    /// The balancer's AUTH/PBSZ/PROT exchange with the server is under way.
    var securingServer: Bool {
        self.relaying?.serverSecuring?.awaitsServer ?? false
    }

    /// The server has taken `PROT P`: data connections to it are TLS.
    var serverProtectsData: Bool {
        self.relaying?.serverSecuring?.serverProtection == .private
    }
}

extension ControlSession.StateMachine.Relaying {
    /// The greeting has ended: securing begins, or the server counts as reached.
    mutating func greetingEnded(into actions: inout [ControlSession.StateMachine.Action]) {
        guard var securing = self.serverSecuring else { return actions.append(.serverGreeted) }
        actions += securing.greeted()
        self.serverSecuring = securing
    }

    /// After a client command the balancer answered: securing follows the client's TLS and
    /// PROT, and sends what is due if the server owes nothing.
    mutating func followClientSecurity(into actions: inout [ControlSession.StateMachine.Action]) {
        self.serverSecuring?.follow(self.security, loggedIn: self.loggedIn)
        _ = self.sendDueSecuring(into: &actions)
    }

    /// The balancer's command that waits for the server to owe nothing goes out now, if due.
    mutating func sendDueSecuring(into actions: inout [ControlSession.StateMachine.Action]) -> Bool {
        guard self.greeted, self.rules.outstandingReplies == 0, self.heldAnswer == nil,
            var securing = self.serverSecuring, securing.holdsCommands, !securing.awaitsServer
        else { return false }
        actions += securing.sendDue()
        self.serverSecuring = securing
        return true
    }

    /// A server line while securing is under way, or after it was refused, is the balancer's.
    mutating func securingReply(_ line: ControlLine, into actions: inout [ControlSession.StateMachine.Action]) -> Bool {
        guard var securing = self.serverSecuring, securing.readsServerLines else { return false }
        let bytes: ByteBuffer
        switch line {
        case .line(let line): bytes = line
        case .overlong(let prefix): bytes = prefix
        }
        actions.append(.serverReply(bytes, answersCommand: false))
        actions += securing.reply(bytes)
        self.serverSecuring = securing
        return true
    }
}
