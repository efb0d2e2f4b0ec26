@testable import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

/// How a session ends: shutdown, a peer that goes away, no server, the idle timeout.
@Suite struct SessionMachineEndingTests {
    typealias Script = SessionMachineScript
    static let shutdown = Action.end(reply: BalancerReply.shuttingDown, reason: .shutdown)

    @Test func aQuietSessionEndsAtOnceOnShutdown() {
        var script = Script.relaying()
        #expect(script.machine.beginShutdown() == [Self.shutdown])
        #expect(script.machine.controlConnectionClosed(.client) == [])
        #expect(script.machine.controlConnectionClosed(.server) == [.finish])
        #expect(script.machine.controlConnectionClosed(.server) == [])
    }

    @Test func aTransferInFlightFinishesBeforeTheShutdownEndsTheSession() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        _ = script.machine.dataListenerReady(.passive(port: 40000))
        #expect(script.client("RETR file") == Script.relayed("RETR file"))
        #expect(script.server("150 Opening.") == Script.passedOn("150 Opening.", answersCommand: false))
        script.machine.dataFlowStarted(now: script.now)
        #expect(script.machine.beginShutdown() == [])
        #expect(script.machine.phase == .shuttingDown)
        #expect(script.server("226 Done.") == Script.passedOn("226 Done."))
        #expect(script.machine.dataFlowEnded(now: script.now) == [Self.shutdown])
    }

    @Test func aShutdownWaitsForTheReplyOwedEvenWhenTheDataConnectionEndedFirst() {
        var script = Script.relaying()
        _ = script.client("RETR file")
        script.machine.dataFlowStarted(now: script.now)
        _ = script.machine.beginShutdown()
        #expect(script.machine.dataFlowEnded(now: script.now) == [])
        #expect(script.server("226 Done.") == Script.passedOn("226 Done.") + [Self.shutdown])
    }

    @Test func aShutdownDuringAListenersOpeningLetsTheClientUseIt() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(script.machine.beginShutdown() == [])
        #expect(script.machine.phase == .shuttingDown)
        _ = script.machine.dataListenerReady(.passive(port: 40000))
        #expect(script.client("RETR file") == Script.relayed("RETR file"))
        #expect(script.server("226 Done.") == Script.passedOn("226 Done.") + [Self.shutdown])
    }

    @Test func theGracePeriodsEndEndsASessionWithATransferInFlight() {
        var script = Script.relaying()
        _ = script.client("RETR file")
        script.machine.dataFlowStarted(now: script.now)
        _ = script.machine.beginShutdown()
        #expect(script.machine.shutdownGraceOver() == [Self.shutdown])
        #expect(script.machine.shutdownGraceOver() == [])
        _ = script.machine.controlConnectionClosed(.client)
        #expect(script.machine.controlConnectionClosed(.server) == [])
        #expect(script.machine.dataFlowEnded(now: script.now) == [.finish])
    }

    @Test func aSessionStillConnectingEndsAtOnceOnShutdown() {
        var script = Script()
        #expect(script.machine.beginShutdown() == [Self.shutdown])
        #expect(script.machine.controlConnectionClosed(.client) == [.finish])
        #expect(script.machine.serverConnected(rules: Script.rules()) == [.abandonServer])
    }

    @Test func aServerThatDiesMidReplyClosesTheClientAfterTellingItSo() {
        var script = Script.relaying()
        _ = script.client("STAT")
        #expect(script.server("211-Status:") == Script.passedOn("211-Status:", answersCommand: false))
        #expect(
            script.machine.controlConnectionClosed(.server)
                == [.reply(BalancerReply.serverClosed), .closeClientAfterFlush, .closeListeners]
        )
        #expect(script.client("NOOP") == [])
        #expect(script.machine.controlConnectionClosed(.client) == [.finish])
    }

    @Test func aServerThatClosesAfterAnsweringEverythingClosesTheClientSilently() {
        var script = Script.relaying()
        _ = script.client("QUIT")
        _ = script.server("221 Goodbye.")
        #expect(script.machine.controlConnectionClosed(.server) == [.closeClientAfterFlush, .closeListeners])
    }

    @Test func aServerThatClosesBeforeItsGreetingIsLeftForTheNext() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules())
        _ = script.client("USER alice")
        #expect(
            script.machine.controlConnectionClosed(.server)
                == [.dropServer(.closedBeforeGreeting), .connectToServer(user: nil)]
        )
        _ = script.machine.serverConnected(rules: Script.rules())
        #expect(script.server("220 Ready.") == Script.greeting("220 Ready.") + Script.relayed("USER alice"))
    }

    @Test func aClientThatLeavesClosesTheServerAndWaitsForItsDataConnection() {
        var script = Script.relaying()
        _ = script.client("RETR file")
        script.machine.dataFlowStarted(now: script.now)
        #expect(script.machine.controlConnectionClosed(.client) == [.closeServer, .closeListeners])
        #expect(script.machine.controlConnectionClosed(.server) == [])
        #expect(script.machine.phase == .closing)
        #expect(script.machine.dataFlowEnded(now: script.now) == [.finish])
    }

    @Test func aClientThatLeavesWhileConnectingAbandonsTheServerThatAnswersLater() {
        var script = Script()
        #expect(script.machine.controlConnectionClosed(.client) == [.finish])
        #expect(script.machine.serverConnectFailed() == [])
        #expect(script.machine.serverConnected(rules: Script.rules()) == [.abandonServer])
    }

    @Test func withNoServerLeftTheClientGetsTheServicesReply() {
        var script = Script()
        let reply = BalancerReply.unavailable("No server available.")
        #expect(script.machine.noServerAvailable(reply: reply) == [.end(reply: reply, reason: .noServer)])
        #expect(script.machine.controlConnectionClosed(.client) == [.finish])
    }

    @Test func theIdleCheckComesBackUntilControlIdleHasPassedWithoutALine() {
        var script = Script.relaying()
        script.now = Script.start + .minutes(4)
        _ = script.client("NOOP")
        script.now = Script.start + .minutes(10)
        #expect(script.machine.timerFired(.idle, now: script.now) == [.scheduleTimer(.idle, after: .minutes(4))])
        #expect(
            script.machine.timerFired(.idle, now: Script.start + .minutes(14))
                == [.end(reply: BalancerReply.idleTimeout, reason: .idleTimeout)]
        )
        #expect(script.machine.timerFired(.idle, now: Script.start + .minutes(30)) == [])
    }

    @Test func aControlConnectionIsNotIdleWhileItsTransferMoves() {
        var script = Script.relaying()
        _ = script.client("RETR file")
        script.machine.dataFlowStarted(now: script.now)
        #expect(script.machine.phase == .transferring)
        #expect(script.machine.timerFired(.idle, now: Script.start + .minutes(25)) == [.scheduleTimer(.idle, after: Script.controlIdle)])
        #expect(script.machine.dataFlowEnded(now: Script.start + .minutes(25)) == [])
        #expect(script.machine.timerFired(.idle, now: Script.start + .minutes(30)) == [.scheduleTimer(.idle, after: .minutes(5))])
    }

    @Test func aControlConnectionIsNotIdleWhileAListenerOpens() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(script.machine.timerFired(.idle, now: Script.start + .minutes(11)) == [.scheduleTimer(.idle, after: Script.controlIdle)])
    }

    @Test func aGreetedPerUserSessionTimesOutLikeAnyOther() {
        var script = SessionMachineScript(greetingBeforeUser: "Ready.")
        #expect(
            script.machine.timerFired(.idle, now: Script.start + .minutes(10))
                == [.end(reply: BalancerReply.idleTimeout, reason: .idleTimeout)]
        )
        #expect(script.client("USER alice") == [])
    }
}
