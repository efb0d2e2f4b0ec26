@testable import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

/// `per_user`: the balancer greets the client and answers it until USER names the user.
@Suite struct SessionMachinePerUserTests {
    typealias Script = SessionMachineScript

    static func greeted() -> Script {
        Script(greetingBeforeUser: "FTP service ready.")
    }

    @Test func theBalancerGreetsAndWaitsForUser() {
        let script = Self.greeted()
        #expect(script.machine.start() == Script.startTimers + [.reply("220 FTP service ready.")])
        #expect(script.machine.phase == .awaitingUser)
    }

    @Test func beforeUserOnlyWhatNeedsNoServerIsAnswered() {
        var script = Self.greeted()
        #expect(script.client("NOOP") == [.command(command("NOOP")), .reply(BalancerReply.noopOK)])
        #expect(
            script.client("AUTH TLS")
                == [.command(command("AUTH TLS")), .refused(command("AUTH TLS"), .tlsUnavailable), .reply(BalancerReply.tlsUnavailable), .resumeClientLines]
        )
        #expect(script.client("LIST") == [.command(command("LIST")), .reply(BalancerReply.logInFirst)])
        #expect(script.client("USER") == [.command(command("USER")), .reply(BalancerReply.userNameMissing)])
        #expect(script.machine.acceptsClientInput(clientWritable: true, serverWritable: false))
        #expect(!script.machine.acceptsClientInput(clientWritable: false, serverWritable: false))
    }

    @Test func userPlacesTheSessionAndTheServersGreetingIsSwallowed() {
        var script = Self.greeted()
        #expect(script.client("USER alice") == [.command(command("USER alice")), .connectToServer(user: "alice")])
        #expect(script.machine.phase == .connecting)
        #expect(script.client("PASS secret") == [])
        #expect(script.machine.serverConnectFailed() == [.connectToServer(user: "alice")])
        #expect(script.machine.serverConnected(rules: Script.rules()) == [Script.greetingTimer])
        #expect(script.server("220-Welcome") == [.serverReply(ByteBuffer(string: "220-Welcome"), answersCommand: false)])
        #expect(
            script.server("220 to the server.")
                == [.serverReply(ByteBuffer(string: "220 to the server."), answersCommand: true), .serverGreeted]
                + Script.relayed("USER alice") + Script.relayed("PASS secret", repliesAhead: 1)
        )
        #expect(script.server("331 Password required.") == Script.passedOn("331 Password required."))
    }

    @Test func aServerGreetingThatRefusesReachesTheClientAsTheAnswerToUser() {
        var script = Self.greeted()
        _ = script.client("USER alice")
        _ = script.machine.serverConnected(rules: Script.rules())
        #expect(script.server("421 Too many users.") == Script.greeting("421 Too many users.") + Script.relayed("USER alice"))
    }

    @Test func quitBeforeUserSaysGoodbyeAndEnds() {
        var script = Self.greeted()
        #expect(
            script.client("QUIT") == [.command(command("QUIT")), .reply(BalancerReply.goodbye), .end(reply: nil, reason: .quit)]
        )
        #expect(script.machine.phase == .closing)
        #expect(script.machine.controlConnectionClosed(.client) == [.finish])
    }

    @Test func anOverlongLineBeforeUserIsRefused() {
        var script = Self.greeted()
        let overlong = ControlLine.overlong(prefix: ByteBuffer(string: "USER aaaa"))
        #expect(script.machine.clientLine(overlong, now: script.now) == [.commandTooLong, .reply(BalancerReply.commandTooLong)])
        #expect(script.machine.phase == .awaitingUser)
    }
}
