import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// `algorithm: per_user` or `greeting`: the balancer greets the client itself and places the
    /// session once it knows the user. Before USER, only what needs no server is answered.
    enum PreLogin: Equatable {
        /// Answered here; the session still waits for USER.
        case reply([Action])
        /// USER with a name: the session goes to a server chosen for it.
        case placeByUser(String, FTPCommand)
        case quit(FTPCommand)

        static func answer(_ line: ControlLine, security: inout ControlChannelSecurity) -> PreLogin {
            guard case .line(let bytes) = line else {
                return .reply([.commandTooLong, .reply(BalancerReply.commandTooLong)])
            }
            let command = FTPCommand(line: bytes)
            if let answer = security.answer(to: command) {
                return .reply([.command(command)] + answer.actions)
            }
            switch command.verb {
            case "USER":
                guard let argument = command.argument, argument.readableBytes > 0 else {
                    return .reply([.command(command), .reply(BalancerReply.userNameMissing)])
                }
                return .placeByUser(String(decoding: argument.readableBytesView, as: UTF8.self), command)
            case "QUIT":
                return .quit(command)
            case "NOOP":
                return .reply([.command(command), .reply(BalancerReply.noopOK)])
            default:
                return .reply([.command(command), .reply(BalancerReply.logInFirst)])
            }
        }
    }
}

extension ControlChannelSecurity {
    /// The balancer's answer to an FTPS command, or to one `tls.require` refuses.
    struct Answer {
        typealias Action = ControlSession.StateMachine.Action

        /// Logged and counted as the reply goes out.
        var refused: Action?
        var reply: String
        /// Performed right after the reply. An AUTH is always followed by whether TLS begins,
        /// since the client connection reads nothing after an AUTH until it knows.
        var then: Action?

        /// Everything, for a session that answers at once.
        var actions: [Action] { [self.refused, .reply(self.reply), self.then].compactMap { $0 } }
    }

    /// Nil when the command is not an FTPS matter.
    mutating func answer(to command: FTPCommand) -> Answer? {
        let afterAUTH: Answer.Action? = command.verb == "AUTH" ? .resumeClientLines : nil
        switch self.clientCommand(command) {
        case .pass:
            return nil
        case .answer(let reply):
            return Answer(reply: reply, then: afterAUTH)
        case .refuse(let reply, let refusal):
            return Answer(refused: .refused(command, refusal), reply: reply, then: afterAUTH)
        case .startTLS(let reply):
            return Answer(reply: reply, then: .startClientTLS)
        }
    }
}
