@testable import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

private typealias Script = SessionMachineScript

/// FTPS: the balancer answers AUTH, PBSZ and PROT itself, starts TLS right after its 234, and
/// holds a transfer's reply until its protected data connection's handshake is judged.
@Suite struct SessionMachineTLSTests {
    static let explicit = ControlChannelSecurity(offer: .explicit)
    static let accepted = "234 AUTH TLS successful; start the TLS handshake."

    @Test func authTLSIsAnsweredHereAndTLSStartsRightAfterThe234() {
        var script = Script.relaying(security: Self.explicit)
        #expect(script.client("AUTH TLS") == [.command(command("AUTH TLS")), .reply(Self.accepted), .startClientTLS])
        #expect(script.client("PBSZ 0") == [.command(command("PBSZ 0")), .reply("200 PBSZ=0")])
        #expect(script.client("PROT P") == [.command(command("PROT P")), .reply("200 Protection level set to Private.")])
        #expect(script.machine.security?.protection == .private)
        #expect(script.client("USER anna") == Script.relayed("USER anna"))
    }

    @Test func anAuthPipelinedBehindACommandStartsTLSOnlyOnceThatCommandIsAnswered() {
        var script = Script.relaying(security: Self.explicit)
        #expect(script.client("NOOP") == Script.relayed("NOOP"))
        #expect(script.client("AUTH TLS") == [.command(command("AUTH TLS"))])
        #expect(script.server("200 NOOP ok.") == Script.passedOn("200 NOOP ok.") + [.reply(Self.accepted), .startClientTLS])
    }

    @Test func anUnknownMechanismIsRefusedAndTheClientsLinesGoOn() {
        var script = Script.relaying(security: Self.explicit)
        #expect(
            script.client("AUTH GSSAPI")
                == [.command(command("AUTH GSSAPI")), .reply("504 AUTH type not supported; use AUTH TLS."), .resumeClientLines]
        )
        #expect(script.machine.security?.tlsActive == false)
    }

    @Test func requireLoginRefusesUserBeforeAuthWithoutAServerHearingOfIt() {
        var script = Script.relaying(security: ControlChannelSecurity(offer: .explicit, requirement: .login))
        #expect(
            script.client("USER anna")
                == [.command(command("USER anna")), .refused(command("USER anna"), .tlsRequired), .reply("530 Log in over TLS: send AUTH TLS first.")]
        )
        _ = script.client("AUTH TLS")
        #expect(script.client("USER anna") == Script.relayed("USER anna"))
    }

    @Test func perUserAnswersAuthBeforeUserAndCarriesTLSToTheServer() {
        var script = Script(greetingBeforeUser: "ftplb ready", security: ControlChannelSecurity(offer: .explicit, requirement: .login))
        _ = script.machine.start()
        #expect(script.client("USER anna").contains(.reply("530 Log in over TLS: send AUTH TLS first.")))
        #expect(script.client("AUTH TLS") == [.command(command("AUTH TLS")), .reply(Self.accepted), .startClientTLS])
        #expect(script.client("USER anna") == [.command(command("USER anna")), .connectToServer(user: "anna")])
        #expect(script.machine.security?.tlsActive == true)
        _ = script.machine.serverConnected(rules: Script.rules(features: Self.explicit.features))
        #expect(script.machine.security?.tlsActive == true)
    }

    @Test func featGainsTheBalancersTLSFeaturesAndLosesTheServers() {
        var script = Script.relaying(security: Self.explicit)
        _ = script.client("FEAT")
        #expect(script.server("211-Features:") == Script.passedOn("211-Features:", answersCommand: false))
        #expect(script.server(" AUTH TLS") == [.serverReply(ByteBuffer(string: " AUTH TLS"), answersCommand: false), .dropReply])
        #expect(script.server(" EPSV") == Script.passedOn(" EPSV", answersCommand: false))
        #expect(
            script.server("211 End")
                == [
                    .serverReply(ByteBuffer(string: "211 End"), answersCommand: true),
                    .rewrittenReply(" AUTH TLS"), .rewrittenReply(" PBSZ"), .rewrittenReply(" PROT"),
                    .relayReply(ByteBuffer(string: "211 End"), rewritten: false),
                ]
        )
    }

    @Test func aOneLineFeatBecomesTheBalancersOwnList() {
        var script = Script.relaying(security: Self.explicit)
        _ = script.client("FEAT")
        #expect(
            script.server("211 No features.")
                == [
                    .serverReply(ByteBuffer(string: "211 No features."), answersCommand: true),
                    .rewrittenReply("211-Features:"), .rewrittenReply(" AUTH TLS"), .rewrittenReply(" PBSZ"),
                    .rewrittenReply(" PROT"), .rewrittenReply("211 End"),
                ]
        )
    }

    /// A session with PROT P whose client has connected to its passive port.
    fileprivate static func protectedTransfer() -> Script {
        var script = Script.relaying(security: Self.explicit)
        for line in ["AUTH TLS", "PBSZ 0", "PROT P"] { _ = script.client(line) }
        script.machine.protectedDataConnecting()
        return script
    }

    @Test func theTransfersReplyWaitsForTheHandshakeButIts150DoesNot() {
        var script = Self.protectedTransfer()
        // Replies to other commands are not held: clients wait for them before the transfer.
        #expect(script.client("TYPE I") == Script.relayed("TYPE I"))
        #expect(script.server("200 Type set to I.") == Script.passedOn("200 Type set to I."))
        #expect(script.client("RETR file") == Script.relayed("RETR file"))
        #expect(script.server("150 Opening BINARY mode data connection.") == Script.passedOn("150 Opening BINARY mode data connection.", answersCommand: false))
        #expect(script.server("226 Transfer complete.") == [])
        #expect(!script.machine.acceptsServerInput(clientWritable: true))
        #expect(script.machine.protectedDataSettled(.accepted) == Script.passedOn("226 Transfer complete."))
        #expect(script.machine.acceptsServerInput(clientWritable: true))
    }

    @Test func aRefusedDataConnectionTurnsTheTransfersReplyInto425() {
        var script = Self.protectedTransfer()
        _ = script.client("RETR file")
        _ = script.server("150 Opening BINARY mode data connection.")
        #expect(script.server("426 Connection reset.") == [])
        #expect(
            script.machine.protectedDataSettled(.refused)
                == [
                    .serverReply(ByteBuffer(string: "426 Connection reset."), answersCommand: true), .dropReply,
                    .rewrittenReply(BalancerReply.dataSessionNotResumed),
                ]
        )
        // The next transfer's reply is the server's own again.
        _ = script.client("LIST")
        #expect(script.server("226 Done.") == Script.passedOn("226 Done."))
    }

    @Test func aRefusalJudgedBeforeTheServerAnswersStillReplaces425() {
        var script = Self.protectedTransfer()
        _ = script.client("STOR file")
        #expect(script.machine.protectedDataSettled(.refused) == [])
        #expect(
            script.server("226 Transfer complete.")
                == [
                    .serverReply(ByteBuffer(string: "226 Transfer complete."), answersCommand: true), .dropReply,
                    .rewrittenReply(BalancerReply.dataSessionNotResumed),
                ]
        )
    }

    @Test func aHandshakeThatFailsReleasesTheServersReplyUnchanged() {
        var script = Self.protectedTransfer()
        _ = script.client("RETR file")
        #expect(script.server("426 Failure writing network stream.") == [])
        #expect(script.machine.protectedDataSettled(.failed) == Script.passedOn("426 Failure writing network stream."))
    }

    /// Found by the session fuzzer: a verdict that came while a listener opened let the queued
    /// lines go on, and a second listener was asked for while the first opened.
    @Test func aVerdictWhileAListenerOpensLeavesTheQueueForTheListener() {
        var script = Self.protectedTransfer()
        _ = script.client("PASV")
        #expect(script.server("227 Entering Passive Mode (10,0,0,5,4,1).").last == .openPassive(.init(kind: .pasv, announcedHost: "10.0.0.5", serverPort: 1025)))
        #expect(script.client("PASV") == [])
        #expect(script.machine.protectedDataSettled(.accepted) == [])
        #expect(script.machine.stage == .waitingForDataListener(shutdownRequested: false))
    }
}
