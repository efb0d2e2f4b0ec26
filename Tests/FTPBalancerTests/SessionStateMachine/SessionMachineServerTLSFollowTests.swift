import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

private typealias Script = SessionMachineScript
private typealias Securing = ControlSession.StateMachine.ServerSecuring
private typealias Base = SessionMachineServerTLSTests

/// `server_tls` that follows the client: `protection: client` passes the client's PROT on to the
/// server when it changes; `mode: match_client` secures the server connection only once the
/// client's own control connection is TLS.
@Suite struct SessionMachineServerTLSFollowTests {
    static let accepted = "234 AUTH TLS successful; start the TLS handshake."
    static let explicitClient = ControlChannelSecurity(offer: .explicit)

    /// Greeted and secured at Clear, the level after PBSZ, with no PROT sent: the client's own
    /// level before its PROT.
    private static func securedFollowingTheClient() -> Script {
        var script = Base.connected(Securing(startsWithTLS: false, protection: .client), client: Self.explicitClient)
        #expect(script.server("220 Ready.").contains(.sendServer(Base.auth)))
        _ = script.server("234 Proceed.")
        #expect(script.server("200 PBSZ=0") == [Base.own("200 PBSZ=0"), .serverGreeted])
        #expect(!script.machine.securingServer)
        _ = script.client("AUTH TLS")
        #expect(script.client("PBSZ 0") == [.command(command("PBSZ 0")), .reply("200 PBSZ=0")])
        return script
    }

    @Test func theClientsProtPIsPassedOnAndItsNextCommandWaitsForTheServersAnswer() {
        var script = Self.securedFollowingTheClient()
        #expect(!script.machine.serverProtectsData)
        #expect(
            script.client("PROT P")
                == [.command(command("PROT P")), .reply("200 Protection level set to Private."), .sendServer(Base.protP)]
        )
        #expect(script.client("NOOP") == [])
        #expect(script.server("200 PROT now Private.") == [Base.own("200 PROT now Private.")] + Script.relayed("NOOP"))
        #expect(script.machine.serverProtectsData)
        // The same level again sends nothing; back to C sends PROT C.
        _ = script.server("200 NOOP ok.")
        #expect(script.client("PROT P") == [.command(command("PROT P")), .reply("200 Protection level set to Private.")])
        #expect(script.client("PROT C").last == .sendServer(FTPCommand(verb: "PROT", argument: "C")))
        _ = script.server("200 Clear.")
        #expect(!script.machine.serverProtectsData)
    }

    @Test func aProtAnsweredWhileRepliesAreOwedGoesToTheServerAfterThem() {
        var script = Self.securedFollowingTheClient()
        #expect(script.client("NOOP") == Script.relayed("NOOP"))
        #expect(script.client("PROT P") == [.command(command("PROT P"))])
        #expect(
            script.server("200 NOOP ok.")
                == Script.passedOn("200 NOOP ok.") + [.reply("200 Protection level set to Private."), .sendServer(Base.protP)]
        )
        #expect(script.server("200 Private.") == [Base.own("200 Private.")])
        #expect(script.machine.serverProtectsData)
    }

    @Test func aRefusedChangeKeepsTheServersLevelAndTheSessionGoesOn() {
        var script = Self.securedFollowingTheClient()
        _ = script.client("PROT P")
        #expect(script.client("LIST") == [])
        #expect(
            script.server("534 Not now.")
                == [Base.own("534 Not now."), .serverProtectionRefused(command: "PROT P", reply: "534 Not now.")]
                    + Script.relayed("LIST")
        )
        #expect(!script.machine.serverProtectsData)
    }

    @Test func aClientThatChosePBeforeTheServerWasSecuredGetsPROTPAtOnce() {
        // per_user or `greeting:`: AUTH SSL (which sets P) answered before the server connected.
        var security = Self.explicitClient
        _ = security.clientCommand(command("AUTH SSL"))
        var script = Base.connected(Securing(startsWithTLS: true, protection: .client), client: security)
        _ = script.server("220 Ready.")
        #expect(script.server("200 PBSZ=0") == [Base.own("200 PBSZ=0"), .sendServer(Base.protP)])
        #expect(script.server("200 Private.") == [Base.own("200 Private."), .serverGreeted])
        #expect(script.machine.serverProtectsData)
    }

    @Test func matchClientLeavesAPlainClientsServerConnectionPlain() {
        var script = Base.connected(Securing(startsWithTLS: false, start: .withClientTLS, protection: .fixed(.private)), client: Self.explicitClient)
        #expect(script.server("220 Ready.") == Script.greeting("220 Ready."))
        #expect(script.client("USER anna") == Script.relayed("USER anna"))
        #expect(!script.machine.serverProtectsData)
    }

    @Test func matchClientSecuresTheServerOnceTheClientsAuthIsAnswered() {
        var script = Base.connected(Securing(startsWithTLS: false, start: .withClientTLS, protection: .fixed(.private)), client: Self.explicitClient)
        _ = script.server("220 Ready.")
        #expect(
            script.client("AUTH TLS")
                == [.command(command("AUTH TLS")), .reply(Self.accepted), .startClientTLS, .sendServer(Base.auth)]
        )
        #expect(script.client("USER anna") == [])
        #expect(script.server("234 Proceed.") == [Base.own("234 Proceed."), .startServerTLS, .sendServer(Base.pbsz)])
        #expect(script.server("200 PBSZ=0") == [Base.own("200 PBSZ=0"), .sendServer(Base.protP)])
        // Reached at the greeting already: no second `.serverGreeted`.
        #expect(script.server("200 Private.") == [Base.own("200 Private.")] + Script.relayed("USER anna"))
        #expect(script.machine.serverProtectsData)
    }

    @Test func matchClientSecuresAtTheGreetingWhenTheClientIsTLSFromAccept() {
        var script = Base.connected(
            Securing(startsWithTLS: false, start: .withClientTLS, protection: .fixed(.private)),
            client: ControlChannelSecurity(offer: .implicit)
        )
        #expect(script.server("220 Ready.").contains(.sendServer(Base.auth)))
        #expect(script.machine.securingServer)
    }

    @Test func matchClientLeavesTheServerPlainWhenTheClientStartsTLSAfterItsLogin() {
        var script = Base.connected(Securing(startsWithTLS: false, start: .withClientTLS, protection: .fixed(.private)), client: Self.explicitClient)
        _ = script.server("220 Ready.")
        _ = script.client("USER anna")
        _ = script.server("331 Password.")
        _ = script.client("PASS secret")
        _ = script.server("230 Logged in.")
        #expect(script.client("AUTH TLS") == [.command(command("AUTH TLS")), .reply(Self.accepted), .startClientTLS])
        #expect(script.client("NOOP") == Script.relayed("NOOP"))
    }
}
