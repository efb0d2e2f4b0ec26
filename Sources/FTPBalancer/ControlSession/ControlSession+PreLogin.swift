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

        static func answer(_ line: ControlLine) -> PreLogin {
            guard case .line(let bytes) = line else {
                return .reply([.commandTooLong, .reply(BalancerReply.commandTooLong)])
            }
            let command = FTPCommand(line: bytes)
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
            case "AUTH":
                return .reply([.command(command), .reply(Rules.tlsUnavailableReply)])
            default:
                return .reply([.command(command), .reply(BalancerReply.logInFirst)])
            }
        }
    }
}
