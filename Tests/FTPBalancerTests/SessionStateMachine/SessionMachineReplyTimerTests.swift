import NIOCore
import Testing

@testable import FTPBalancer
@testable import FTPProtocol

/// A server that owes a reply and says nothing for `server_reply` ends the session with a 421
/// and counts as failed; a transfer's reply, an open data connection and the time before the
/// greeting are not its to bound.
@Suite struct SessionMachineReplyTimerTests {
    typealias Script = SessionMachineScript
    static let timedOut: [Action] = [.serverUnresponsive, .end(reply: BalancerReply.serverReplyTimeout, reason: .serverTimeout)]

    @Test func aServerThatNeverAnswersPasvEndsTheSessionOnceServerReplyHasPassed() {
        var script = Script.relaying()
        #expect(script.client("PASV") == Script.relayed("PASV"))
        script.now = script.now + .seconds(20)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: .seconds(40))])
        script.now = script.now + .seconds(40)
        #expect(script.machine.timerFired(.reply, now: script.now) == Self.timedOut)
        #expect(script.machine.timerFired(.reply, now: script.now) == [])
    }

    @Test func aServerThatOwesNothingIsCheckedAgainAFullPeriodLater() {
        var script = Script.relaying()
        _ = script.client("NOOP")
        #expect(script.server("200 NOOP ok.") == Script.passedOn("200 NOOP ok."))
        script.now = script.now + .minutes(5)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: Script.serverReply)])
    }

    @Test func eachServerLineStartsTheWaitAgain() {
        var script = Script.relaying()
        _ = script.client("FEAT")
        script.now = script.now + .seconds(50)
        #expect(script.server("211-Features:") == Script.passedOn("211-Features:", answersCommand: false))
        script.now = script.now + .seconds(50)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: .seconds(10))])
    }

    @Test func aTransferCommandsReplyWaitsForItsDataConnectionUnbounded() {
        var script = Script.relaying()
        #expect(script.client("LIST") == Script.relayed("LIST"))
        script.now = script.now + .minutes(5)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: Script.serverReply)])
        // Once it is answered, the next command is bounded again.
        #expect(script.server("226 Done.") == Script.passedOn("226 Done."))
        _ = script.client("CWD /next")
        script.now = script.now + Script.serverReply
        #expect(script.machine.timerFired(.reply, now: script.now) == Self.timedOut)
    }

    @Test func anOpenDataConnectionDefersTheCheck() {
        var script = Script.relaying()
        _ = script.client("NOOP")
        script.machine.dataFlowStarted(now: script.now)
        script.now = script.now + .minutes(5)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: Script.serverReply)])
    }

    @Test func beforeTheGreetingOnlyServerGreetingApplies() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules())
        _ = script.client("USER alice")
        script.now = script.now + .minutes(5)
        #expect(script.machine.timerFired(.reply, now: script.now) == [.scheduleTimer(.reply, after: Script.serverReply)])
    }

    @Test func aShuttingDownSessionWhoseServerHangsEndsTheSameWay() {
        var script = Script.relaying()
        _ = script.client("EPSV")
        #expect(script.machine.beginShutdown() == [])
        script.now = script.now + Script.serverReply
        #expect(script.machine.timerFired(.reply, now: script.now) == Self.timedOut)
    }
}
