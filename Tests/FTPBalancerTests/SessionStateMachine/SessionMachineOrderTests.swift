@testable import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

/// When lines are handled: in order, never a reply ahead of the replies due before it.
@Suite struct SessionMachineOrderTests {
    typealias Script = SessionMachineScript

    @Test func aSessionWithoutPerUserConnectsAtOnceAndSchedulesItsIdleCheck() {
        let script = Script()
        #expect(script.machine.start() == Script.startTimers + [.connectToServer(user: nil)])
        #expect(script.machine.phase == .connecting)
    }

    @Test func linesSentWhileConnectingAreRelayedInOrderOnceTheServerIsReached() {
        var script = Script()
        #expect(script.client("USER alice") == [])
        #expect(script.client("PASS secret") == [])
        #expect(!script.machine.acceptsClientInput(clientWritable: true, serverWritable: true))
        // Commands wait for the greeting: a server that never greets can be left with nothing lost.
        #expect(script.machine.serverConnected(rules: Script.rules()) == [Script.greetingTimer])
        #expect(script.client("NOOP") == [])
        #expect(
            script.server("220 Ready.")
                == Script.greeting("220 Ready.") + Script.relayed("USER alice") + Script.relayed("PASS secret", repliesAhead: 1)
                + Script.relayed("NOOP", repliesAhead: 2)
        )
        #expect(script.server("331 Password required.") == Script.passedOn("331 Password required."))
        #expect(
            script.server("230 Logged in.")
                == [.serverReply(ByteBuffer(string: "230 Logged in."), answersCommand: true), .loggedIn, .relayReply(ByteBuffer(string: "230 Logged in."), rewritten: false)]
        )
        #expect(script.machine.phase == .idle)
    }

    @Test func commandsPipelinedWhileAPassiveListenerOpensWaitForItsReply() {
        var script = Script.relaying()
        #expect(script.client("PASV") == Script.relayed("PASV"))
        let passive = ControlSessionStateMachine.PassiveRequest(kind: .pasv, announcedHost: "10.0.0.5", serverPort: 1025)
        #expect(
            script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
                == [.serverReply(ByteBuffer(string: "227 Entering Passive Mode (10,0,0,5,4,1)."), answersCommand: true), .openPassive(passive)]
        )
        #expect(script.machine.phase == .dataPending)
        #expect(script.client("RETR file") == [])
        #expect(script.client("NOOP") == [])
        #expect(!script.machine.acceptsClientInput(clientWritable: true, serverWritable: true))
        #expect(!script.machine.acceptsServerInput(clientWritable: true))
        #expect(
            script.machine.dataListenerReady(.passive(port: 40000))
                == [.useListener(.passive), .rewrittenReply("227 Entering Passive Mode (198,51,100,1,156,64).")]
                + Script.relayed("RETR file") + Script.relayed("NOOP", repliesAhead: 1)
        )
        #expect(script.machine.acceptsServerInput(clientWritable: true))
    }

    @Test func serverLinesThatArriveWhileAListenerOpensAreRelayedAfterItsReply() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.client("NOOP")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(script.server("200 NOOP ok.") == [])
        #expect(
            script.machine.dataListenerReady(.passive(port: 40000))
                == [.useListener(.passive), .rewrittenReply("227 Entering Passive Mode (198,51,100,1,156,64).")]
                + Script.passedOn("200 NOOP ok.")
        )
    }

    @Test func theBalancersOwn534WaitsBehindTheRepliesOwedForEarlierCommands() {
        var script = Script.relaying()
        #expect(script.client("NOOP") == Script.relayed("NOOP"))
        // Refused, logged and answered in its turn; what the client sent after it is lines again.
        #expect(script.client("AUTH TLS") == [.command(command("AUTH TLS"))])
        #expect(!script.machine.acceptsClientInput(clientWritable: true, serverWritable: true))
        #expect(script.client("PWD") == [])
        #expect(
            script.server("200 NOOP ok.")
                == Script.passedOn("200 NOOP ok.")
                + [.refused(command("AUTH TLS"), .tlsUnavailable), .reply(BalancerReply.tlsUnavailable), .resumeClientLines]
                + Script.relayed("PWD")
        )
    }

    @Test func aHeldAnswerWaitsForThePassiveReplyOfTheCommandBeforeIt() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.client("AUTH TLS")
        let actions = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(!actions.contains(.reply(BalancerReply.tlsUnavailable)))
        #expect(
            script.machine.dataListenerReady(.passive(port: 40000))
                == [
                    .useListener(.passive), .rewrittenReply("227 Entering Passive Mode (198,51,100,1,156,64)."),
                    .refused(command("AUTH TLS"), .tlsUnavailable), .reply(BalancerReply.tlsUnavailable), .resumeClientLines,
                ]
        )
    }

    @Test func epsvAllIsAnsweredWith200OnlyAfterTheServerHasAnsweredWhatCameBefore() {
        var script = Script.relaying()
        _ = script.client("CWD /pub")
        #expect(script.client("EPSV ALL") == [.command(command("EPSV ALL"))])
        #expect(script.server("250 Okay.") == Script.passedOn("250 Okay.") + [.reply("200 EPSV ALL accepted.")])
        #expect(script.client("PORT 192,0,2,10,4,1") == [.command(command("PORT 192,0,2,10,4,1")), .refused(command("PORT 192,0,2,10,4,1"), .extendedPassiveOnly), .reply("501 PORT not allowed after EPSV ALL.")])
    }

    @Test func anOverlongCommandIsAnsweredWith500InItsTurn() {
        var script = Script.relaying()
        let overlong = ControlLine.overlong(prefix: ByteBuffer(string: "STOR aaaa"))
        #expect(script.machine.clientLine(overlong, now: script.now) == [.commandTooLong, .reply(BalancerReply.commandTooLong)])
    }

    @Test func aServerRefusingEpsvGetsPasvBeforeAnyLaterCommand() {
        var script = Script.relaying(policy: .passive)
        #expect(script.client("EPSV") == Script.relayed("EPSV"))
        #expect(script.client("RETR file") == [])
        let refusal = ByteBuffer(string: "500 Unknown command.")
        // The refusal answers nothing: the PASV sent in its place is owed the reply.
        #expect(
            script.server("500 Unknown command.")
                == [.serverReply(refusal, answersCommand: false), .resendToServer(FTPCommand(verb: "PASV"), refusal: refusal)]
                + Script.relayed("RETR file", repliesAhead: 1)
        )
        let passive = ControlSessionStateMachine.PassiveRequest(kind: .epsv, announcedHost: "10.0.0.5", serverPort: 1025)
        #expect(
            script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
                == [.serverReply(ByteBuffer(string: "227 Entering Passive Mode (10,0,0,5,4,1)."), answersCommand: true), .openPassive(passive)]
        )
        #expect(
            script.machine.dataListenerReady(.passive(port: 40000))
                == [.useListener(.passive), .rewrittenReply("229 Entering Extended Passive Mode (|||40000|)")]
        )
    }
}
