#if DEBUG || FUZZING
import FTPProtocol
import NIOCore

@testable import FTPBalancer

extension SessionFuzzDriver {
    /// Performs `actions` on the model as `ControlSession.perform` does, checking that each fits
    /// what exists: a write needs its connection, a listener one asked for, a finish nothing left.
    mutating func perform(_ actions: [Action]) throws {
        for (index, action) in actions.enumerated() {
            try self.check(!self.finished, "\(action) after the session finished")
            try self.perform(action)
            if action == .finish {
                try self.check(index == actions.count - 1, "actions after finish: \(actions)")
            }
        }
        try self.checkState()
    }

    private var clientWritable: Bool { self.clientOpen && !self.clientClosing }

    private mutating func perform(_ action: Action) throws {
        switch action {
        case .connectToServer:
            try self.check(!self.connectInFlight, "a second connect while one is in flight")
            try self.check(!self.serverHeld, "a connect while a server is held")
            try self.check(!self.ended, "a connect for an ended session")
            self.connectInFlight = true
        case .abandonServer, .useListener, .discardListener:
            try self.check(false, "\(action) with nothing arriving")
        case .startServerTLS:
            try self.check(self.securing != nil, "\(action) without server_tls")
            try self.check(self.serverHeld && !self.serverClosing, "TLS started for a server that is gone")
        case .serverSecuringRefused:
            try self.check(self.securing != nil, "\(action) without server_tls")
            // As ControlSession.serverSecuringFailed: the session ends with a 421.
            try self.perform(self.machine.end(reply: BalancerReply.serverTLSFailed, reason: .serverTLSFailed))
        case .serverProtectionRefused:
            try self.check(self.securing?.policy == .client, "\(action) where the protection does not follow the client")
        case .serverGreeted:
            try self.check(self.serverHeld && !self.serverGreeted, "serverGreeted twice or for no server")
            self.serverGreeted = true
            self.timers[.greeting] = nil
        case .dropServer:
            // The server is held, or its close is what the machine answers.
            try self.check(!self.serverGreeted, "a server dropped after its greeting")
            self.serverHeld = false
            self.serverClosing = false
        case .loggedIn:
            try self.check(!self.loggedIn && self.serverGreeted, "loggedIn twice or before the greeting")
            self.loggedIn = true
            self.timers[.login] = nil
        case .command, .commandTooLong, .refused, .serverReply, .serverReplyTooLong, .dropReply, .resumeClientLines:
            break
        case .serverUnresponsive:
            // Under server_tls also while it is being secured, before it counts as greeted.
            try self.check(self.serverHeld && (self.serverGreeted || self.securing != nil), "an unresponsive server that is not there")
        case .startClientTLS:
            try self.check(self.clientWritable, "TLS for a client that is gone")
            try self.check(self.machine.configuration.security.offer != .none, "TLS started where none is offered")
        case .relayCommand, .sendServer, .resendToServer:
            try self.check(self.serverHeld && !self.serverClosing, "\(action) with no server to take it")
            // The balancer's own AUTH TLS, PBSZ and PROT go out before the server counts as greeted.
            let ownSecuring = self.securing != nil && { if case .sendServer = action { true } else { false } }()
            try self.check(self.serverGreeted || ownSecuring, "\(action) before the server's greeting")
        case .relayReply:
            try self.check(self.clientWritable, "\(action) to a client that is gone")
        case .rewrittenReply(let text) where text.hasPrefix(" "):
            // A line inside a multi-line reply of the balancer's (its FEAT features).
            try self.check(self.clientWritable, "\(action) to a client that is gone")
            try self.check(!text.utf8.contains { $0 == 10 || $0 == 13 }, "a reply line with a line end: \(text)")
        case .reply(let text), .rewrittenReply(let text), .replaceReply(let text, _):
            try self.check(self.clientWritable, "\(action) to a client that is gone")
            try self.checkReplyText(text)
        case .openPassive(let request):
            try self.check((0...65535).contains(request.serverPort), "a server port out of range")
            try self.openListener(.passive)
            self.passivePort = nil
        case .openActive(let request):
            try self.check((1024...65535).contains(request.clientPort), "an active port out of range")
            try self.openListener(.active)
            self.activeListenerKept = false
        case .openTranslatedPassive:
            try self.openListener(.translatedPassive)
        case .openTranslatedActive(let request, let passive):
            try self.check((1024...65535).contains(request.clientPort), "an active port out of range")
            try self.check((0...65535).contains(passive.serverPort), "a server port out of range")
            try self.openListener(.translatedActive)
        case .closeListeners:
            self.passivePort = nil
            self.activeListenerKept = false
        case .end(let reply, _):
            try self.check(!self.ended, "the session ended twice")
            try self.check(self.clientWritable, "an end for a client that is gone")
            if let reply { try self.checkReplyText(reply) }
            self.ended = true
            self.clientClosing = true
            self.serverClosing = self.serverHeld
            self.passivePort = nil
            self.activeListenerKept = false
        case .closeServer:
            try self.check(self.serverHeld, "closeServer with no server")
            self.serverClosing = true
        case .closeClientAfterFlush:
            try self.check(self.clientWritable, "closeClientAfterFlush for a client that is gone")
            self.clientClosing = true
        case .scheduleTimer(let timer, let delay):
            try self.check(delay > .zero, "\(timer) scheduled \(delay) from now")
            self.timers[timer] = self.now + delay
        case .finish:
            try self.check(!self.clientOpen, "finished with the client connected")
            try self.check(!self.serverHeld, "finished with a server connected")
            try self.check(self.flows == 0, "finished with \(self.flows) data connections open")
            self.finished = true
            self.timers = [:]
        }
    }

    /// The machine waits for one listener at a time, and only a greeted server's session asks.
    private mutating func openListener(_ kind: ListenerKind) throws {
        try self.check(self.listenerInFlight == nil, "a \(kind) listener while \(String(describing: self.listenerInFlight)) opens")
        // Under server_tls the server counts as greeted once secured; its greeting line itself
        // may already ask for a listener (a 227 as the greeting) while securing begins.
        let greeted = self.serverGreeted || (self.securing != nil && self.machine.relaying?.greeted == true)
        try self.check(self.serverHeld && greeted, "a \(kind) listener with no greeted server")
        self.listenerInFlight = kind
    }

    /// A reply the balancer writes itself: one line with a code.
    private func checkReplyText(_ text: String) throws {
        try self.check(ReplyFramer.code(of: ByteBuffer(string: text)) != nil, "a reply without a code: \(text)")
        let breaksLine = text.utf8.contains { $0 == 10 || $0 == 13 || $0 == Telnet.iac }
        try self.check(!breaksLine, "a reply with a line end: \(text)")
    }
}
#endif
