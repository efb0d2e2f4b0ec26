import NIOCore
import Testing

@testable import FTPBalancer
@testable import FTPProtocol

/// The server's greeting and the client's login each have a bound; a client that reads no
/// replies is read no further.
@Suite struct SessionMachineTimerTests {
    typealias Script = SessionMachineScript

    @Test func aServerThatNeverGreetsIsLeftForTheNextWithTheLinesItNeverTook() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules())
        #expect(script.client("USER alice") == [])
        #expect(script.machine.timerFired(.greeting, now: script.now) == [.dropServer(.noGreeting), .connectToServer(user: nil)])
        #expect(script.machine.phase == .connecting)
        #expect(script.machine.serverConnected(rules: Script.rules()) == [Script.greetingTimer])
        #expect(script.server("220 Ready.") == Script.greeting("220 Ready.") + Script.relayed("USER alice"))
        #expect(script.machine.timerFired(.greeting, now: script.now) == [])
    }

    @Test func aPerUserSessionKeepsItsUserForTheNextServer() {
        var script = Script(greetingBeforeUser: "Ready.")
        _ = script.client("USER alice")
        _ = script.machine.serverConnected(rules: Script.rules())
        #expect(script.machine.timerFired(.greeting, now: script.now) == [.dropServer(.noGreeting), .connectToServer(user: "alice")])
    }

    @Test func aShuttingDownSessionWhoseServerNeverGreetsEnds() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules())
        #expect(script.machine.beginShutdown() == [])
        #expect(
            script.machine.timerFired(.greeting, now: script.now)
                == [.end(reply: BalancerReply.shuttingDown, reason: .shutdown)]
        )
    }

    @Test func aShutdownBeforeTheGreetingEndsOnceTheGreetingIsRelayed() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules())
        _ = script.machine.beginShutdown()
        #expect(
            script.server("220 Ready.")
                == Script.greeting("220 Ready.") + [.end(reply: BalancerReply.shuttingDown, reason: .shutdown)]
        )
    }

    @Test func aClientThatHasNotLoggedInWhenTheLoginTimerFiresIsClosed() {
        var script = Script.relaying()
        _ = script.client("USER alice")
        #expect(script.server("331 Password required.") == Script.passedOn("331 Password required."))
        #expect(
            script.machine.timerFired(.login, now: script.now)
                == [.end(reply: BalancerReply.loginTimeout, reason: .loginTimeout)]
        )
    }

    @Test func aLoggedInClientOutlivesTheLoginTimer() {
        var script = Script.relaying()
        _ = script.client("USER alice")
        _ = script.client("PASS secret")
        _ = script.server("331 Password required.")
        #expect(script.server("230 Logged in.").contains(.loggedIn))
        #expect(script.machine.timerFired(.login, now: script.now) == [])
        // Only the first 230 counts.
        _ = script.client("USER bob")
        #expect(!script.server("230 Logged in.").contains(.loggedIn))
    }

    @Test func theLoginTimerClosesSessionsStillWaitingForUserOrAServer() {
        var greeted = Script(greetingBeforeUser: "Ready.")
        #expect(greeted.machine.timerFired(.login, now: greeted.now) == [.end(reply: BalancerReply.loginTimeout, reason: .loginTimeout)])
        var connecting = Script()
        #expect(connecting.machine.timerFired(.login, now: connecting.now) == [.end(reply: BalancerReply.loginTimeout, reason: .loginTimeout)])
        #expect(connecting.machine.timerFired(.login, now: connecting.now) == [])
    }

    @Test func aClientThatReadsNoRepliesIsReadNoFurther() {
        var script = Script.relaying()
        #expect(script.machine.acceptsClientInput(clientWritable: true, serverWritable: true))
        #expect(!script.machine.acceptsClientInput(clientWritable: false, serverWritable: true))
        #expect(
            script.client("AUTH TLS")
                == [.command(command("AUTH TLS")), .refused(command("AUTH TLS"), .tlsUnavailable), .reply(BalancerReply.tlsUnavailable), .resumeClientLines]
        )
        #expect(!script.machine.acceptsClientInput(clientWritable: false, serverWritable: true))
    }
}
