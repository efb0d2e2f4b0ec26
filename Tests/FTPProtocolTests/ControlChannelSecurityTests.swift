import NIOCore
import Testing

@testable import FTPProtocol

private typealias Security = ControlChannelSecurity

@Suite struct ControlChannelSecurityTests {
    @Test func withoutTLSAuthIsRefusedAndTheOtherCommandsReachTheServer() {
        var security = Security(offer: .none, requirement: .data)
        #expect(security.clientCommand(command("AUTH TLS")) == .refuse(BalancerReply.tlsUnavailable, .tlsUnavailable))
        #expect(security.clientCommand(command("PBSZ 0")) == .pass)
        #expect(security.clientCommand(command("PROT P")) == .pass)
        #expect(security.clientCommand(command("CCC")) == .pass)
        // A requirement means nothing where no TLS is offered.
        #expect(security.clientCommand(command("USER anna")) == .pass)
        #expect(security.clientCommand(command("RETR f")) == .pass)
        #expect(security.features.isEmpty)
    }

    @Test func authTLSStartsTLSOnceAndPBSZThenPROTSetTheProtection() {
        var security = Security(offer: .explicit)
        #expect(security.clientCommand(command("PBSZ 0")) == .answer("503 Send AUTH TLS before PBSZ."))
        #expect(security.clientCommand(command("PROT P")) == .answer("503 Send AUTH TLS before PROT."))
        #expect(security.clientCommand(command("auth tls")) == .startTLS("234 AUTH TLS successful; start the TLS handshake."))
        #expect(security.tlsActive)
        #expect(security.clientCommand(command("AUTH TLS")) == .answer("503 TLS is already active on this connection."))
        #expect(security.clientCommand(command("PROT P")) == .answer("503 Send PBSZ 0 before PROT."))
        #expect(security.clientCommand(command("PBSZ")) == .answer("501 PBSZ needs an argument: PBSZ 0."))
        #expect(security.clientCommand(command("PBSZ 1024")) == .answer("200 PBSZ=0"))
        #expect(security.protection == .clear)
        #expect(security.clientCommand(command("PROT P")) == .answer("200 Protection level set to Private."))
        #expect(security.protection == .private)
        #expect(security.clientCommand(command("PROT S")) == .answer("536 Protection level S is not supported; use C or P."))
        #expect(security.clientCommand(command("PROT E")) == .answer("536 Protection level E is not supported; use C or P."))
        #expect(security.clientCommand(command("PROT X")) == .answer("504 Unknown protection level; use C or P."))
        #expect(security.protection == .private)
        #expect(security.clientCommand(command("PROT C")) == .answer("200 Protection level set to Clear."))
        #expect(security.protection == .clear)
    }

    @Test func theLegacyMechanismsProtectDataAndUnknownOnesAreRefused() {
        var ssl = Security(offer: .explicit)
        #expect(ssl.clientCommand(command("AUTH KERBEROS_V4")) == .answer("504 AUTH type not supported; use AUTH TLS."))
        #expect(ssl.clientCommand(command("AUTH")) == .answer("504 AUTH type not supported; use AUTH TLS."))
        #expect(!ssl.tlsActive)
        #expect(ssl.clientCommand(command("AUTH SSL")) == .startTLS("234 AUTH SSL successful; start the TLS handshake."))
        #expect(ssl.protection == .private)
        var tlsC = Security(offer: .explicit)
        #expect(tlsC.clientCommand(command("AUTH TLS-C")) == .startTLS("234 AUTH TLS-C successful; start the TLS handshake."))
        #expect(tlsC.protection == .clear)
        var tlsP = Security(offer: .explicit)
        #expect(tlsP.clientCommand(command("AUTH TLS-P")) == .startTLS("234 AUTH TLS-P successful; start the TLS handshake."))
        #expect(tlsP.protection == .private)
    }

    @Test func implicitTLSIsActiveFromTheStartAndCCCIsRefused() {
        var security = Security(offer: .implicit, requirement: .login)
        #expect(security.tlsActive)
        #expect(security.clientCommand(command("USER anna")) == .pass)
        #expect(security.clientCommand(command("AUTH TLS")) == .answer("503 TLS is already active on this connection."))
        #expect(security.clientCommand(command("CCC")) == .refuse("534 CCC refused: the control connection stays encrypted.", .unsupportedCommand))
        #expect(security.features == [" AUTH TLS", " PBSZ", " PROT"])
    }

    @Test func requireLoginRefusesUserBeforeAuth() {
        var security = Security(offer: .explicit, requirement: .login)
        #expect(security.clientCommand(command("USER anna")) == .refuse("530 Log in over TLS: send AUTH TLS first.", .tlsRequired))
        // Transfers under PROT C are still allowed with `login`.
        #expect(security.clientCommand(command("AUTH TLS")) != .pass)
        #expect(security.clientCommand(command("USER anna")) == .pass)
        #expect(security.clientCommand(command("RETR f")) == .pass)
    }

    @Test func requireDataRefusesEveryTransferVerbUntilProtP() {
        var security = Security(offer: .explicit, requirement: .data)
        _ = security.clientCommand(command("AUTH TLS"))
        let refusal = Security.Decision.refuse("534 Data connections must be encrypted: send PBSZ 0 and PROT P first.", .protectionRequired)
        for verb in ["RETR f", "STOR f", "STOU", "APPE f", "LIST", "NLST", "MLSD"] {
            #expect(security.clientCommand(command(verb)) == refusal)
        }
        // Commands that open no data connection go on.
        #expect(security.clientCommand(command("PASV")) == .pass)
        #expect(security.clientCommand(command("CWD /")) == .pass)
        _ = security.clientCommand(command("PBSZ 0"))
        _ = security.clientCommand(command("PROT P"))
        #expect(security.clientCommand(command("RETR f")) == .pass)
    }
}
