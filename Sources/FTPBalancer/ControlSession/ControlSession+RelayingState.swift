import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// A session connected to its server: commands and replies pass through the protocol rules,
    /// in order. A line that may not be handled yet waits in its queue; an answer of the
    /// balancer's own waits until the server has answered every command relayed before it.
    struct Relaying {
        var rules: Rules
        var clientLines: CircularBuffer<ControlLine>
        var serverLines = CircularBuffer<ControlLine>()
        /// A reply of the balancer's own, and what follows it, waiting for the server's replies
        /// to earlier commands.
        var heldAnswer: ControlChannelSecurity.Answer?
        /// The client's TLS: AUTH, PBSZ and PROT are answered here.
        var security: ControlChannelSecurity
        /// `per_user`: the user the session was placed by.
        let user: String?
        /// `per_user`: frames the server's greeting, which the client must not see a second time.
        var swallowedGreeting: ReplyFramer?
        /// The server's greeting has ended; commands wait for it.
        var greeted = false
        var loggedIn = false
        /// The client's passive listener (plain or translated) is open on this port; a
        /// translated one's 227/229 names it once the server has taken its PORT/EPRT.
        var passivePort: Int?
        /// The passive listener timed out unused, and no other data connection was asked for
        /// since: a transfer command now could only wait for nothing.
        var passiveExpired = false
        var activeListenerOpen = false
        /// Protected data connections whose TLS handshake has not ended (`+ProtectedData`).
        var protectedDataPending = 0
        /// What the client gets instead of the server's reply to the transfer whose protected
        /// data connection was refused.
        var transferReplyReplacement: String?
        /// `server_tls:`: the balancer's own securing of the server connection (`+ServerSecuring`).
        var serverSecuring: ServerSecuring?

        init(rules: Rules, clientLines: CircularBuffer<ControlLine>, user: String?, security: ControlChannelSecurity) {
            self.rules = rules
            self.clientLines = clientLines
            self.user = user
            self.security = security
            self.swallowedGreeting = user != nil ? ReplyFramer() : nil
        }

        var listenerOpen: Bool { self.passivePort != nil || self.activeListenerOpen }

        /// Nothing is due from the server, so a shutdown may end the session. The balancer's own
        /// securing counts: a refusal ends the session itself, and must not end it a second time.
        var isQuiet: Bool {
            self.rules.outstandingReplies == 0 && !(self.serverSecuring?.readsServerLines ?? false)
        }

        /// A client line may be handled the moment it arrives: nothing before it waits.
        var takesClientLineNow: Bool {
            self.clientLines.isEmpty && self.commandsMayGo
        }

        /// Commands go on unless an answer of the balancer's is held or the server may still
        /// have to get something first (PASV after a refused EPSV).
        private var commandsMayGo: Bool {
            self.greeted && self.serverSecuring?.holdsCommands != true && self.heldAnswer == nil && !self.rules.holdsCommands
        }

        // MARK: Events

        /// Returns the listener the session now waits for, if the line asked for one.
        mutating func clientLine(_ line: ControlLine, into actions: inout [Action]) -> DataListenerWait? {
            guard self.takesClientLineNow else {
                self.clientLines.append(line)
                return nil
            }
            return self.handleClientLine(line, into: &actions)
        }

        mutating func serverLine(_ line: ControlLine, into actions: inout [Action]) -> DataListenerWait? {
            guard self.serverLines.isEmpty, !self.holdsServerLine(line) else {
                self.serverLines.append(line)
                return nil
            }
            if let wait = self.handleServerLine(line, into: &actions) { return wait }
            return self.proceed(into: &actions)
        }

        /// What waited goes on: a held answer that is due, then queued server lines, then
        /// queued client lines, until one of them has to wait again.
        mutating func proceed(into actions: inout [Action]) -> DataListenerWait? {
            // Bounded: every turn takes a line off a queue, or ends the loop.
            while true {
                if let answer = self.heldAnswer, self.rules.outstandingReplies == 0 {
                    self.heldAnswer = nil
                    actions += answer.actions
                }
                if let line = self.serverLines.first, !self.holdsServerLine(line) {
                    self.serverLines.removeFirst()
                    if let wait = self.handleServerLine(line, into: &actions) { return wait }
                    continue
                }
                if self.sendDueSecuring(into: &actions) { return nil }
                guard self.commandsMayGo, let line = self.clientLines.popFirst() else { return nil }
                if let wait = self.handleClientLine(line, into: &actions) { return wait }
            }
        }

        // MARK: Client commands

        private mutating func handleClientLine(_ line: ControlLine, into actions: inout [Action]) -> DataListenerWait? {
            let outstanding = self.rules.outstandingReplies
            guard case .line(let bytes) = line else {
                actions.append(.commandTooLong)
                self.answer(BalancerReply.commandTooLong, outstandingBefore: outstanding, into: &actions)
                return nil
            }
            let command = FTPCommand(line: bytes)
            actions.append(.command(command))
            switch command.verb {
            case "PASV", "EPSV", "PORT", "EPRT":
                self.passiveExpired = false
            case _ where self.passiveExpired && !self.listenerOpen && TransferRecord.transferVerbs.contains(command.verb):
                self.answer(BalancerReply.passivePortExpired, outstandingBefore: outstanding, into: &actions)
                return nil
            default:
                break
            }
            if let answer = self.security.answer(to: command) {
                self.answer(answer, outstandingBefore: outstanding, into: &actions)
                self.followClientSecurity(into: &actions)
                return nil
            }
            if self.serverSecuring != nil, let reply = ServerSecuring.refusal(of: command) {
                self.answer(reply, outstandingBefore: outstanding, into: &actions)
                return nil
            }
            switch self.rules.clientCommand(command) {
            case .forward(let forwarded):
                actions.append(.relayCommand(forwarded, rewritten: forwarded != command, repliesAhead: outstanding))
            case .answer(let reply):
                self.answer(reply, outstandingBefore: outstanding, into: &actions)
            case .refuse(let reply, let refusal):
                actions.append(.refused(command, refusal))
                self.answer(reply, outstandingBefore: outstanding, into: &actions)
            case .openActive(let request):
                // A client that asks again has given up on the previous listener.
                self.activeListenerOpen = false
                self.passiveExpired = false
                actions.append(.openActive(request))
                return .active(request)
            case .openTranslatedPassive(let request):
                self.closeListeners(into: &actions)
                actions.append(.openTranslatedPassive(request))
                return .translatedPassive(request)
            }
            return nil
        }

        /// Answers the client directly, but never ahead of replies still due for earlier commands.
        private mutating func answer(_ reply: String, outstandingBefore outstanding: Int, into actions: inout [Action]) {
            self.answer(ControlChannelSecurity.Answer(reply: reply), outstandingBefore: outstanding, into: &actions)
        }

        private mutating func answer(
            _ answer: ControlChannelSecurity.Answer,
            outstandingBefore outstanding: Int,
            into actions: inout [Action]
        ) {
            if outstanding == 0 {
                actions += answer.actions
            } else {
                self.heldAnswer = answer
            }
        }

        // MARK: Server replies

        private mutating func handleServerLine(_ line: ControlLine, into actions: inout [Action]) -> DataListenerWait? {
            if self.securingReply(line, into: &actions) { return nil }
            let bytes: ByteBuffer
            switch line {
            case .line(let line):
                bytes = line
            case .overlong(let prefix):
                actions.append(.serverReplyTooLong)
                bytes = prefix
            }
            let owed = self.rules.outstandingReplies
            let answeringTransfer = self.rules.awaitsTransferReply
            let decision = self.rules.serverReplyLine(bytes)
            let answersCommand = self.rules.outstandingReplies < owed
            actions.append(.serverReply(bytes, answersCommand: answersCommand))
            if answersCommand { self.noteCompletion(bytes, into: &actions) }
            if self.swallowsGreetingLine(bytes) { return nil }
            if self.replacesTransferReply(line, answeringTransfer: answeringTransfer, answersCommand: answersCommand, into: &actions) {
                return nil
            }
            switch decision {
            case .forward(let relayed):
                actions.append(.relayReply(relayed, rewritten: relayed != bytes))
            case .drop:
                actions.append(.dropReply)
            case .replace(let reply, let error):
                actions.append(.replaceReply(reply, error))
            case .openPassive(let request):
                self.passivePort = nil
                self.passiveExpired = false
                actions.append(.openPassive(request))
                return .passive(request)
            case .activeRefused(let relayed):
                // A translated PASV/EPSV holds its client's passive listener too.
                self.closeListeners(into: &actions)
                actions.append(.relayReply(relayed, rewritten: relayed != bytes))
            case .resend(let command):
                actions.append(.resendToServer(command, refusal: bytes))
            case .answerPassive(let kind):
                if let port = self.passivePort {
                    actions.append(.rewrittenReply(self.rules.passiveReply(kind: kind, port: port)))
                } else {
                    actions.append(.reply(BalancerReply.cannotOpenDataConnection))
                }
            case .openTranslatedActive(let request, let passive):
                self.closeListeners(into: &actions)
                actions.append(.openTranslatedActive(request, passive))
                return .translatedActive(request)
            case .endFeatureList(let features, let closing):
                // The balancer's TLS features, in the server's list or in one of its own.
                if closing == nil { actions.append(.rewrittenReply("211-Features:")) }
                actions += features.map { .rewrittenReply($0) }
                if let closing { actions.append(.relayReply(closing, rewritten: false)) } else { actions.append(.rewrittenReply("211 End")) }
            }
            return nil
        }

        /// The first completion reply is the greeting's end; a 230 (or 232) logs the client in.
        private mutating func noteCompletion(_ line: ByteBuffer, into actions: inout [Action]) {
            if !self.greeted {
                self.greeted = true
                self.greetingEnded(into: &actions)
            } else if !self.loggedIn, let code = ReplyFramer.code(of: line), code == 230 || code == 232 {
                self.loggedIn = true
                actions.append(.loggedIn)
            }
        }

        /// True while the line belongs to the server's greeting of a `per_user` session, which the
        /// client already had from the balancer. A greeting that refuses (421) is relayed instead:
        /// the client reads it as the answer to its USER.
        private mutating func swallowsGreetingLine(_ line: ByteBuffer) -> Bool {
            guard var framer = self.swallowedGreeting else { return false }
            let classified = framer.classify(line)
            self.swallowedGreeting = classified.endsCommand ? nil : framer
            return (classified.code ?? 0) < 300
        }
    }
}
