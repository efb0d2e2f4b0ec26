@testable import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

/// Data listeners: what the session does when one opens, fails, or opens too late.
@Suite struct SessionMachineDataTests {
    typealias Script = SessionMachineScript
    typealias Rules = ControlSessionStateMachine

    @Test func activeModeOpensAListenerAndSendsTheServerItsAddress() {
        var script = Script.relaying()
        let request = Rules.ActiveRequest(kind: .port, clientHost: "192.0.2.10", clientPort: 1025, serverVerb: .port)
        #expect(script.client("PORT 192,0,2,10,4,1") == [.command(command("PORT 192,0,2,10,4,1")), .openActive(request)])
        #expect(script.client("RETR file") == [])
        #expect(
            script.machine.dataListenerReady(.active(host: "10.0.0.1", port: 50000))
                == [.useListener(.active), .sendServer(FTPCommand(verb: "PORT", argument: "10,0,0,1,195,80"))]
                + Script.relayed("RETR file", repliesAhead: 1)
        )
        #expect(script.server("200 PORT command successful.") == Script.passedOn("200 PORT command successful."))
    }

    @Test func aServerThatRefusesTheBalancersPortClosesTheListener() {
        var script = Script.relaying()
        _ = script.client("PORT 192,0,2,10,4,1")
        _ = script.machine.dataListenerReady(.active(host: "10.0.0.1", port: 50000))
        #expect(
            script.server("500 Illegal PORT command.")
                == [.serverReply(ByteBuffer(string: "500 Illegal PORT command."), answersCommand: true), .closeListeners, .relayReply(ByteBuffer(string: "500 Illegal PORT command."), rewritten: false)]
        )
        #expect(script.machine.phase == .idle)
    }

    @Test func aPassiveListenerThatCannotOpenIsAnswered425AndTheQueueGoesOn() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        _ = script.client("NOOP")
        #expect(script.machine.dataListenerFailed(.failed) == [.reply(BalancerReply.noPassivePort)] + Script.relayed("NOOP"))
        #expect(script.machine.phase == .idle)
    }

    @Test func anActiveConnectionThatCannotReachTheClientIsAnsweredWithWhy() {
        var script = Script.relaying()
        _ = script.client("EPRT |1|192.0.2.10|1025|")
        #expect(script.machine.dataListenerFailed(.clientUnreachable) == [.reply(BalancerReply.clientUnreachable)])
        _ = script.client("EPRT |1|192.0.2.10|1025|")
        #expect(script.machine.dataListenerFailed(.cannotStart) == [.reply(BalancerReply.cannotOpenDataConnection)])
        _ = script.client("EPRT |1|192.0.2.10|1025|")
        #expect(script.machine.dataListenerFailed(.failed) == [.reply(BalancerReply.cannotOpenDataConnection)])
    }

    @Test func aListenerThatOpensAfterTheClientLeftIsClosed() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(script.machine.controlConnectionClosed(.client) == [.closeServer, .closeListeners])
        #expect(script.machine.dataListenerReady(.passive(port: 40000)) == [.discardListener])
        #expect(script.machine.dataListenerFailed(.failed) == [])
    }

    @Test func aListenerOfAnotherKindThanTheOneAwaitedIsClosed() {
        var script = Script.relaying()
        _ = script.client("PASV")
        _ = script.server("227 Entering Passive Mode (10,0,0,5,4,1).")
        #expect(script.machine.dataListenerReady(.translatedActive) == [.discardListener])
        #expect(script.machine.phase == .dataPending)
    }

    @Test func aTranslatedPassiveAnswersTheClientOnlyAfterTheServerTookThePort() {
        var script = Script.relaying(policy: .active)
        let request = Rules.TranslatedPassiveRequest(kind: .epsv, serverVerb: .port)
        #expect(script.client("EPSV") == [.command(command("EPSV")), .closeListeners, .openTranslatedPassive(request)])
        #expect(
            script.machine.dataListenerReady(.translatedPassive(clientPort: 40000, host: "10.0.0.1", serverPort: 50000))
                == [.useListener(.passive), .sendServer(FTPCommand(verb: "PORT", argument: "10,0,0,1,195,80"))]
        )
        #expect(
            script.server("200 PORT command successful.")
                == [.serverReply(ByteBuffer(string: "200 PORT command successful."), answersCommand: true), .rewrittenReply("229 Entering Extended Passive Mode (|||40000|)")]
        )
    }

    @Test func aTranslatedActiveConnectsBothSidesBeforeTheClientHearsOfIt() {
        var script = Script.relaying(policy: .passive)
        #expect(script.client("PORT 192,0,2,10,4,1") == [.command(command("PORT 192,0,2,10,4,1")), .relayCommand(FTPCommand(verb: "EPSV"), rewritten: true, repliesAhead: 0)])
        let active = Rules.ActiveRequest(kind: .port, clientHost: "192.0.2.10", clientPort: 1025)
        let passive = Rules.PassiveRequest(kind: .epsv, announcedHost: nil, serverPort: 50001)
        #expect(
            script.server("229 Entering Extended Passive Mode (|||50001|)")
                == [.serverReply(ByteBuffer(string: "229 Entering Extended Passive Mode (|||50001|)"), answersCommand: true), .closeListeners, .openTranslatedActive(active, passive)]
        )
        #expect(script.machine.dataListenerReady(.translatedActive) == [.useListener(.active), .reply("200 PORT command successful.")])
    }
}

/// A passive listener that timed out unused: the transfer command that would wait on it is
/// answered at once.
@Suite struct SessionMachineExpiredListenerTests {
    typealias Script = SessionMachineScript

    static func expired() -> Script {
        var script = Script.relaying()
        _ = script.client("EPSV")
        _ = script.server("229 Entering Extended Passive Mode (|||1025|)")
        _ = script.machine.dataListenerReady(.passive(port: 40000))
        script.machine.dataListenerExpired(port: 40000)
        return script
    }

    @Test func aTransferAfterThePassivePortTimedOutGets425AtOnce() {
        var script = Self.expired()
        #expect(script.machine.phase == .idle)
        #expect(script.client("RETR file") == [.command(command("RETR file")), .reply(BalancerReply.passivePortExpired)])
        #expect(script.client("NOOP") == Script.relayed("NOOP"))
    }

    @Test func aNewPassiveRequestClearsTheExpiryAtOnce() {
        var script = Self.expired()
        #expect(script.client("EPSV") == Script.relayed("EPSV"))
        #expect(script.client("RETR file") == Script.relayed("RETR file", repliesAhead: 1))
    }

    @Test func theExpiryOfAListenerNoLongerInUseChangesNothing() {
        var script = Self.expired()
        _ = script.client("EPSV")
        _ = script.server("229 Entering Extended Passive Mode (|||1026|)")
        _ = script.machine.dataListenerReady(.passive(port: 40001))
        script.machine.dataListenerExpired(port: 40000)
        #expect(script.client("RETR file") == Script.relayed("RETR file"))
    }
}
