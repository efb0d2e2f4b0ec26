import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// `server_tls:`: the balancer's own AUTH TLS, PBSZ and PROT to the server, after its greeting
    /// and before the client's first command reaches it. Its replies are the balancer's, never
    /// relayed; the client's lines wait meanwhile, as they do for the greeting.
    struct ServerSecuring {
        enum Step: Equatable {
            case awaitingGreeting, auth, pbsz, prot, secured
        }

        private(set) var step = Step.awaitingGreeting
        /// The control connection is TLS from its connect (implicit): no AUTH.
        let startsWithTLS: Bool
        /// `PROT P` rather than `PROT C`.
        let protectsData: Bool
        private var framer = ReplyFramer()

        init(startsWithTLS: Bool, protectsData: Bool) {
            self.startsWithTLS = startsWithTLS
            self.protectsData = protectsData
        }

        /// A command of the balancer's is out and its reply not yet in.
        var awaitsServer: Bool { self.step != .awaitingGreeting && self.step != .secured }

        /// The greeting has ended: the first command goes out.
        mutating func greeted() -> [Action] {
            guard self.step == .awaitingGreeting else { return [] }
            if self.startsWithTLS {
                self.step = .pbsz
                return [.sendServer(Self.pbsz)]
            }
            self.step = .auth
            return [.sendServer(Self.auth)]
        }

        /// A line of the server's reply to the current command. A refusal ends the session.
        mutating func reply(_ line: ByteBuffer) -> [Action] {
            let framed = self.framer.classify(line)
            guard framed.position == .single || framed.position == .closing else { return [] }
            let code = framed.code ?? 0
            switch (self.step, code) {
            case (.auth, 234):
                self.step = .pbsz
                // Written behind the TLS handler, which holds it until the handshake is done.
                return [.startServerTLS, .sendServer(Self.pbsz)]
            case (.pbsz, 200..<300):
                self.step = .prot
                return [.sendServer(self.protectsData ? Self.protPrivate : Self.protClear)]
            case (.prot, 200..<300):
                self.step = .secured
                return [.serverGreeted]
            case (.auth, _), (.pbsz, _), (.prot, _):
                let refused = Action.serverSecuringRefused(command: self.commandName, reply: String(buffer: line))
                self.step = .secured
                return [refused]
            case (.awaitingGreeting, _), (.secured, _):
                return []
            }
        }

        private var commandName: String {
            switch self.step {
            case .auth: "AUTH TLS"
            case .pbsz: "PBSZ 0"
            default: self.protectsData ? "PROT P" : "PROT C"
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

    /// A server reached: its connection is secured first when `securing` is given.
    mutating func serverConnected(rules: Rules, securing: ServerSecuring?) -> [Action] {
        let actions = self.serverConnected(rules: rules)
        if let securing { self.modifyRelaying { $0.serverSecuring = securing } }
        return actions
    }

    /// The balancer's AUTH/PBSZ/PROT exchange with the server is under way.
    var securingServer: Bool {
        self.relaying?.serverSecuring?.awaitsServer ?? false
    }
}

extension ControlSession.StateMachine.Relaying {
    /// The greeting has ended: securing begins, or the server counts as reached.
    mutating func greetingEnded(into actions: inout [ControlSession.StateMachine.Action]) {
        guard var securing = self.serverSecuring else { return actions.append(.serverGreeted) }
        actions += securing.greeted()
        self.serverSecuring = securing
    }

    /// A server line while securing is under way is the balancer's to read.
    mutating func securingReply(_ line: ControlLine, into actions: inout [ControlSession.StateMachine.Action]) -> Bool {
        guard var securing = self.serverSecuring, securing.awaitsServer else { return false }
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
