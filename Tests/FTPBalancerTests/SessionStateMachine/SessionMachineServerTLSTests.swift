import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

private typealias Script = SessionMachineScript
private typealias Securing = ControlSession.StateMachine.ServerSecuring

/// `server_tls`: the balancer secures the server connection itself after the greeting, with its
/// own AUTH TLS, PBSZ and PROT, whose replies the client never sees; the client's lines wait.
@Suite struct SessionMachineServerTLSTests {
    static let auth = FTPCommand(verb: "AUTH", argument: "TLS")
    static let pbsz = FTPCommand(verb: "PBSZ", argument: "0")
    static let protP = FTPCommand(verb: "PROT", argument: "P")

    static func connected(_ securing: ControlSession.StateMachine.ServerSecuring, client security: ControlChannelSecurity = ControlChannelSecurity(offer: .none)) -> SessionMachineScript {
        var script = SessionMachineScript(security: security)
        _ = script.machine.serverConnected(rules: Script.rules(features: security.features), securing: securing)
        return script
    }

    /// The balancer's own line from the server: traced, never relayed.
    static func own(_ text: String) -> Action {
        .serverReply(ByteBuffer(string: text), answersCommand: false)
    }

    @Test func explicitSendsAuthAfterTheGreetingThenPbszAndProtBehindTLS() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        #expect(
            script.server("220 Ready.")
                == [.serverReply(ByteBuffer(string: "220 Ready."), answersCommand: true), .sendServer(Self.auth),
                    .relayReply(ByteBuffer(string: "220 Ready."), rewritten: false)]
        )
        #expect(script.machine.securingServer)
        #expect(script.server("234 Proceed with negotiation.") == [Self.own("234 Proceed with negotiation."), .startServerTLS, .sendServer(Self.pbsz)])
        #expect(script.server("200 PBSZ set to 0.") == [Self.own("200 PBSZ set to 0."), .sendServer(Self.protP)])
        #expect(script.server("200 PROT now Private.") == [Self.own("200 PROT now Private."), .serverGreeted])
        #expect(!script.machine.securingServer)
        #expect(script.client("USER anna") == Script.relayed("USER anna"))
    }

    @Test func theClientsLinesWaitUntilTheServerIsSecuredAndThenGoInOrder() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        #expect(script.client("USER anna") == [])
        #expect(script.client("PASS secret") == [])
        _ = script.server("234 Proceed.")
        _ = script.server("200 PBSZ=0")
        #expect(
            script.server("200 Private.")
                == [Self.own("200 Private."), .serverGreeted] + Script.relayed("USER anna")
                    + Script.relayed("PASS secret", repliesAhead: 1)
        )
    }

    @Test func implicitSkipsAuthAndClearProtectionSendsProtC() {
        var script = Self.connected(Securing(startsWithTLS: true, protection: .fixed(.clear)))
        #expect(script.server("220 Ready.").contains(.sendServer(Self.pbsz)))
        #expect(script.server("200 PBSZ=0") == [Self.own("200 PBSZ=0"), .sendServer(FTPCommand(verb: "PROT", argument: "C"))])
        #expect(script.server("200 Clear.") == [Self.own("200 Clear."), .serverGreeted])
    }

    @Test func aRefusedAuthEndsTheSessionWithoutRelayingTheRefusal() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        #expect(
            script.server("530 Please login with USER and PASS.")
                == [Self.own("530 Please login with USER and PASS."),
                    .serverSecuringRefused(command: "AUTH TLS", reply: "530 Please login with USER and PASS.")]
        )
        #expect(!script.machine.securingServer)
    }

    /// Found by the session fuzz harness: the client's lines queued behind securing went on to
    /// the server once it had refused, so USER and PASS could reach it unprotected.
    @Test func theClientsQueuedLinesNeverReachAServerThatRefusedSecuring() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        #expect(script.client("USER anna") == [])
        #expect(script.client("PASS secret") == [])
        #expect(
            script.server("502 AUTH not supported.")
                == [Self.own("502 AUTH not supported."), .serverSecuringRefused(command: "AUTH TLS", reply: "502 AUTH not supported.")]
        )
        #expect(script.client("NOOP") == [])
        #expect(script.server("200 Unasked.").allSatisfy { if case .relayCommand = $0 { false } else { true } })
    }

    /// Found by the session fuzz harness: a shutting-down session counted as quiet while the
    /// balancer's own AUTH TLS was out, so the server's refusal ended it twice (two 421s).
    @Test func aShuttingDownSessionWaitsForTheSecuringAndARefusalEndsItOnce() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        #expect(script.machine.beginShutdown() == [])
        #expect(!script.server("220 Ready.").contains { if case .end = $0 { true } else { false } })
        #expect(
            script.server("502 AUTH not supported.")
                == [Self.own("502 AUTH not supported."), .serverSecuringRefused(command: "AUTH TLS", reply: "502 AUTH not supported.")]
        )
        #expect(
            script.machine.end(reply: BalancerReply.serverTLSFailed, reason: .serverTLSFailed)
                == [.end(reply: BalancerReply.serverTLSFailed, reason: .serverTLSFailed)]
        )
    }

    @Test func aShuttingDownSessionEndsOnceTheServerIsSecured() {
        var script = Self.connected(Securing(startsWithTLS: true, protection: .fixed(.private)))
        _ = script.machine.beginShutdown()
        _ = script.server("220 Ready.")
        #expect(script.server("200 PBSZ=0") == [Self.own("200 PBSZ=0"), .sendServer(Self.protP)])
        #expect(
            script.server("200 Private.")
                == [Self.own("200 Private."), .serverGreeted, .end(reply: BalancerReply.shuttingDown, reason: .shutdown)]
        )
    }

    @Test func aMultiLineReplyIsReadToItsLastLine() {
        var script = Self.connected(Securing(startsWithTLS: true, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        #expect(script.server("200-PBSZ") == [Self.own("200-PBSZ")])
        #expect(script.server("200 PBSZ=0") == [Self.own("200 PBSZ=0"), .sendServer(Self.protP)])
        #expect(script.server("534 No.") == [Self.own("534 No."), .serverSecuringRefused(command: "PROT P", reply: "534 No.")])
    }

    @Test func aPlainClientsProtIsRefusedHereAndNeverReachesTheSecuredServer() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        _ = script.server("234 Proceed.")
        _ = script.server("200 PBSZ=0")
        _ = script.server("200 Private.")
        #expect(
            script.client("PROT C")
                == [.command(command("PROT C")), .reply("534 PROT refused: this service offers no TLS to clients.")]
        )
    }

    @Test func aServerThatNeverAnswersTheBalancersOwnCommandEndsTheSessionAfterServerReply() {
        var script = Self.connected(Securing(startsWithTLS: false, protection: .fixed(.private)))
        _ = script.server("220 Ready.")
        _ = script.client("USER anna")
        script.now = script.now + Script.serverReply
        #expect(
            script.machine.timerFired(.reply, now: script.now)
                == [.serverUnresponsive, .end(reply: BalancerReply.serverReplyTimeout, reason: .serverTimeout)]
        )
    }

    @Test func withoutServerTLSTheGreetingReachesTheServerAsBefore() {
        var script = Script()
        _ = script.machine.serverConnected(rules: Script.rules(), securing: nil)
        #expect(script.server("220 Ready.") == Script.greeting("220 Ready."))
    }
}
