import FTPProtocol
import NIOCore

/// `algorithm: per_user`: the balancer greets the client itself and places the session once it
/// knows the user. The client then sees the chosen server's reply to USER, never its greeting.
extension ControlSession {
    func greetBeforeUser() {
        self.awaitingUser = true
        self.sendClient("220 \(self.service.configuration.userRouting.greeting)")
    }

    /// A command before USER: only what needs no server is answered here.
    func handleLineBeforeUser(_ line: ControlLine) {
        guard case .line(let bytes) = line else {
            self.sendClient(BalancerReply.commandTooLong)
            return
        }
        let command = FTPCommand(line: bytes)
        self.summary.noteCommand(command)
        switch command.verb {
        case "USER":
            guard let argument = command.argument, argument.readableBytes > 0 else {
                self.sendClient(BalancerReply.userNameMissing)
                return
            }
            let name = String(decoding: argument.readableBytesView, as: UTF8.self)
            self.awaitingUser = false
            self.userForSelection = name
            self.logger[metadataKey: "ftp.user"] = "\(name)"
            // USER goes to the server once connected; its greeting is swallowed first.
            self.queuedClientLines.append(line)
            self.swallowedGreeting = ReplyFramer()
            self.connectToNextServer()
        case "QUIT":
            self.sendClient(BalancerReply.goodbye)
            self.end(reply: nil, reason: .quit)
        case "NOOP":
            self.sendClient(BalancerReply.noopOK)
        case "AUTH":
            self.sendClient(ControlSessionStateMachine.tlsUnavailableReply)
        default:
            self.sendClient(BalancerReply.logInFirst)
        }
    }

    /// True while the line belongs to the server's greeting of a `per_user` session, which the
    /// client already had from the balancer. A greeting that refuses (421) is relayed instead:
    /// the client reads it as the answer to its USER.
    func swallowsGreetingLine(_ line: ByteBuffer) -> Bool {
        guard var framer = self.swallowedGreeting else { return false }
        let classified = framer.classify(line)
        self.swallowedGreeting = classified.endsCommand ? nil : framer
        if let code = classified.code, code >= 300 {
            return false
        }
        return true
    }
}
