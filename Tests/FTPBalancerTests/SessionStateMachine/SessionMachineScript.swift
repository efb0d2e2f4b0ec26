@testable import FTPProtocol
import NIOCore

@testable import FTPBalancer

typealias Machine = ControlSession.StateMachine
typealias Action = ControlSession.StateMachine.Action

/// A session machine and the lines and times a script feeds it. Addresses: the client
/// 192.0.2.10, the balancer's advertised 198.51.100.1 and server-side 10.0.0.1, the server
/// 10.0.0.5.
struct SessionMachineScript {
    static let controlIdle = TimeAmount.minutes(10)
    static let serverGreeting = TimeAmount.seconds(10)
    static let login = TimeAmount.seconds(60)
    static let serverReply = TimeAmount.seconds(60)
    static let greetingTimer = Action.scheduleTimer(.greeting, after: Self.serverGreeting)
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    var machine: Machine
    var now = Self.start

    init(greetingBeforeUser: String? = nil, security: ControlChannelSecurity = ControlChannelSecurity(offer: .none)) {
        self.machine = Machine(
            configuration: .init(
                greetingBeforeUser: greetingBeforeUser,
                controlIdle: Self.controlIdle,
                serverGreeting: Self.serverGreeting,
                login: Self.login,
                serverReply: Self.serverReply,
                security: security
            ),
            now: Self.start
        )
    }

    static func rules(policy: DataTransferPolicy = .client, features: [String] = []) -> ControlSessionStateMachine {
        ControlSessionStateMachine(
            addresses: .init(client: "192.0.2.10", advertised: "198.51.100.1", hidden: ["10.0.0.5", "10.0.0.1"]),
            policy: policy,
            features: features
        )
    }

    /// A session whose server has connected and greeted it.
    static func relaying(
        policy: DataTransferPolicy = .client,
        security: ControlChannelSecurity = ControlChannelSecurity(offer: .none)
    ) -> SessionMachineScript {
        var script = SessionMachineScript(security: security)
        _ = script.machine.serverConnected(rules: Self.rules(policy: policy, features: security.features))
        _ = script.server("220 Ready.")
        return script
    }

    mutating func client(_ text: String) -> [Action] {
        self.machine.clientLine(.line(ByteBuffer(string: text)), now: self.now)
    }

    mutating func server(_ text: String) -> [Action] {
        self.machine.serverLine(.line(ByteBuffer(string: text)), now: self.now)
    }

    /// The client's command and its relay, as the machine reports a command passed through.
    static func relayed(_ text: String, repliesAhead: Int = 0) -> [Action] {
        [.command(command(text)), .relayCommand(command(text), rewritten: false, repliesAhead: repliesAhead)]
    }

    /// The timers every session starts with.
    static let startTimers: [Action] = [
        .scheduleTimer(.idle, after: Self.controlIdle), .scheduleTimer(.login, after: Self.login),
        .scheduleTimer(.reply, after: Self.serverReply),
    ]

    /// The server's greeting, relayed: what waited for it may go on.
    static func greeting(_ text: String) -> [Action] {
        [.serverReply(ByteBuffer(string: text), answersCommand: true), .serverGreeted, .relayReply(ByteBuffer(string: text), rewritten: false)]
    }

    /// A completion or preliminary reply of the server, relayed unchanged.
    static func passedOn(_ text: String, answersCommand: Bool = true) -> [Action] {
        [.serverReply(ByteBuffer(string: text), answersCommand: answersCommand), .relayReply(ByteBuffer(string: text), rewritten: false)]
    }
}

func command(_ text: String) -> FTPCommand {
    FTPCommand(line: ByteBuffer(string: text))
}
