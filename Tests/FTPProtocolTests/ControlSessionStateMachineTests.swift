import NIOCore
import Testing

// @testable for the memberwise initializers of PassiveRequest and ActiveRequest, which are internal.
@testable import FTPProtocol

private typealias Machine = ControlSessionStateMachine

extension ControlSessionStateMachine.Addresses {
    /// A client on IPv4; the server is 10.0.2.1 and the balancer's server-side address 10.0.2.254.
    fileprivate static let ipv4 = Self(
        client: "198.51.100.7",
        advertised: "192.0.2.10",
        hidden: ["10.0.2.1", "10.0.2.254"]
    )
    fileprivate static let ipv6 = Self(
        client: "2001:db8::7",
        advertised: "2001:db8::10",
        hidden: ["fd00::1", "fd00::fe"]
    )
}

extension ControlSessionStateMachine {
    /// A machine whose server has sent its greeting, as every session starts.
    fileprivate static func greeted(_ addresses: Addresses) -> Self {
        var machine = Self(addresses: addresses)
        _ = machine.serverReplyLine(line("220 ready"))
        return machine
    }
}

@Suite struct ControlSessionStateMachineGreetingTests {
    @Test func repliesToCommandsSentBeforeTheGreetingAreMatchedAfterIt() {
        var machine = ControlSessionStateMachine(addresses: .ipv4)
        #expect(machine.outstandingReplies == 1)
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(machine.serverReplyLine(line("220 ready")) == .forward(line("220 ready")))
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)"))
                == .openPassive(.init(kind: .epsv, announcedHost: "10.0.2.1", serverPort: 40000))
        )
        #expect(machine.outstandingReplies == 0)
    }

    @Test func aLocalAnswerWaitsForTheGreeting() {
        var machine = ControlSessionStateMachine(addresses: .ipv4)
        #expect(machine.outstandingReplies == 1)
        _ = machine.serverReplyLine(line("120-wait"))
        _ = machine.serverReplyLine(line("120 a moment"))
        #expect(machine.outstandingReplies == 1)
        _ = machine.serverReplyLine(line("220 ready"))
        #expect(machine.outstandingReplies == 0)
    }
}

private let unusablePassiveReply = "425 Cannot open data connection: the server's passive reply was unusable."

@Suite struct ControlSessionStateMachinePassiveTests {
    @Test func pasvIsForwardedAndThe227OpensAPassiveListenerForTheServersPort() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)."))
                == .openPassive(.init(kind: .pasv, announcedHost: "10.0.2.1", serverPort: 40000))
        )
    }

    @Test func epsvIsForwardedAndThe229OpensAPassiveListenerForTheServersPort() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openPassive(.init(kind: .epsv, announcedHost: nil, serverPort: 6446))
        )
    }

    @Test func theKindFollowsWhatTheClientAskedForWhateverTheServerAnswered() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("229 Extended Passive (|||6446|)"))
                == .openPassive(.init(kind: .pasv, announcedHost: nil, serverPort: 6446))
        )
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)"))
                == .openPassive(.init(kind: .epsv, announcedHost: "10.0.2.1", serverPort: 40000))
        )
    }

    @Test func thePassiveReplyNamesTheAdvertisedAddressAndTheBalancersPort() {
        let machine = Machine.greeted(.ipv4)
        #expect(machine.passiveReply(kind: .pasv, port: 50001) == "227 Entering Passive Mode (192,0,2,10,195,81).")
        #expect(machine.passiveReply(kind: .epsv, port: 50001) == "229 Entering Extended Passive Mode (|||50001|)")
    }

    @Test func thePassiveRepliesTheBalancerWritesParseBack() throws {
        let machine = Machine.greeted(.ipv4)
        for port in [1024, 40000, 65535] {
            let pasv = machine.passiveReply(kind: .pasv, port: port)
            #expect(
                try HostPortAddress(passiveReplyText: pasv.dropFirst(4))
                    == HostPortAddress(octets: [192, 0, 2, 10], port: UInt16(port))
            )
            #expect(
                try Int(ExtendedPassiveReply.port(inReplyText: machine.passiveReply(kind: .epsv, port: port))) == port
            )
        }
    }

    @Test func epsvNamingTheAdvertisedFamilyIsForwardedWithoutTheArgument() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("EPSV 1")) == .forward(command("EPSV")))
        #expect(
            machine.clientCommand(command("EPSV 2"))
                == .refuse("522 Network protocol not supported, use (1)", .malformedAddress)
        )

        var v6 = Machine.greeted(.ipv6)
        #expect(v6.clientCommand(command("EPSV 2")) == .forward(command("EPSV")))
        #expect(
            v6.clientCommand(command("EPSV 1"))
                == .refuse("522 Network protocol not supported, use (2)", .malformedAddress)
        )
    }

    @Test func pasvIsRefusedWhenTheAdvertisedAddressIsIPv6() {
        var machine = Machine.greeted(.ipv6)
        #expect(
            machine.clientCommand(command("PASV"))
                == .refuse("502 PASV cannot name an IPv6 address; use EPSV.", .unsupportedCommand)
        )
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openPassive(.init(kind: .epsv, announcedHost: nil, serverPort: 6446))
        )
    }

    @Test func anErrorReplyToPasvIsForwardedAndAnswersIt() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("425 Cannot open passive connection."))
                == .forward(line("425 Cannot open passive connection."))
        )
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" AUTH TLS")) == .drop)
    }

    @Test func aMalformed227IsReplacedWithA425() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156)."))
                == .replace(unusablePassiveReply, FTPProtocolError(.malformedHostPort, input: "10,0,2,1,156"))
        )
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode"))
                == .replace(unusablePassiveReply, FTPProtocolError(.malformedHostPort, input: "Entering Passive Mode"))
        )
        #expect(machine.clientCommand(command("PASV")) == .forward(command("PASV")))
        #expect(
            machine.serverReplyLine(line("227"))
                == .replace(unusablePassiveReply, FTPProtocolError(.malformedHostPort, input: ""))
        )
    }

    @Test func aMalformed229IsReplacedWithA425() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        let reply = "229 Entering Extended Passive Mode (|||0|)"
        #expect(
            machine.serverReplyLine(line(reply))
                == .replace(unusablePassiveReply, FTPProtocolError(.malformedExtendedPassiveReply, input: reply))
        )
    }

    @Test func a228IsReplacedBecauseItWouldCarryTheServersAddress() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.serverReplyLine(line("228 Entering Long Passive Mode (4,4,10,0,2,1,2,156,64)"))
                == .replace("425 Cannot open data connection.", FTPProtocolError(.malformedHostPort, input: "228"))
        )
    }

    @Test(arguments: ["LPSV", "LPRT 4,4,198,51,100,7,2,19,137", "SPSV", "lpsv"])
    func longAndSinglePortPassiveCommandsAreRefused(_ text: String) {
        var machine = Machine.greeted(.ipv4)
        let verb = command(text).verb
        #expect(
            machine.clientCommand(command(text))
                == .refuse("502 \(verb) is not supported here; use EPSV or PASV.", .unsupportedCommand)
        )
    }
}

@Suite struct ControlSessionStateMachineActiveTests {
    @Test func portNamingTheClientsOwnAddressOpensAnActiveListener() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("PORT 198,51,100,7,19,137"))
                == .openActive(.init(kind: .port, clientHost: "198.51.100.7", clientPort: 5001))
        )
        #expect(
            machine.clientCommand(command("port 198,51,100,7,4,0"))
                == .openActive(.init(kind: .port, clientHost: "198.51.100.7", clientPort: 1024))
        )
    }

    @Test func portNamingAnotherHostIsRefusedAsABounce() {
        var machine = Machine.greeted(.ipv4)
        let refusal = Machine.OnClientCommand.refuse("504 PORT refused: the address must be your own.", .bounceAddress)
        #expect(machine.clientCommand(command("PORT 10,0,2,1,19,137")) == refusal)
        #expect(machine.clientCommand(command("PORT 198,51,100,8,19,137")) == refusal)
        #expect(machine.clientCommand(command("PORT 10,0,2,1,0,21")) == refusal)
    }

    @Test func portNamingAPrivilegedPortIsRefused() {
        var machine = Machine.greeted(.ipv4)
        let refusal = Machine.OnClientCommand.refuse("504 PORT refused: privileged port.", .privilegedPort)
        #expect(machine.clientCommand(command("PORT 198,51,100,7,0,21")) == refusal)
        #expect(machine.clientCommand(command("PORT 198,51,100,7,3,255")) == refusal)
        #expect(machine.clientCommand(command("PORT 198,51,100,7,0,0")) == refusal)
    }

    @Test(arguments: [
        "PORT", "PORT ", "PORT 1,2,3", "PORT 198,51,100,7,19,300", "PORT 198.51.100.7:5001",
        "PORT 198,51,100,7,19,137,1",
    ])
    func aMalformedPortIsRefused(_ text: String) {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command(text)) == .refuse("501 Syntax error in PORT argument.", .malformedAddress)
        )
    }

    @Test func portWithATabIsRefusedAndNotForwardedToAServerThatSplitsAtTabs() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("PORT\t10,0,2,9,19,137"))
                == .refuse("501 Syntax error in PORT argument.", .malformedAddress)
        )
        #expect(
            machine.clientCommand(command("EPRT\t|1|10.0.2.9|5001|"))
                == .refuse("501 Syntax error in EPRT argument.", .malformedAddress)
        )
        #expect(
            machine.clientCommand(command("PORT10,0,2,9,19,137"))
                == .refuse("501 Syntax error in PORT argument.", .malformedAddress)
        )
    }

    @Test func eprtNamingTheClientsOwnAddressOpensAnActiveListener() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("EPRT |1|198.51.100.7|5001|"))
                == .openActive(.init(kind: .eprt, clientHost: "198.51.100.7", clientPort: 5001, serverVerb: .eprt))
        )
        #expect(
            machine.clientCommand(command("EPRT !1!198.51.100.7!5001!"))
                == .openActive(.init(kind: .eprt, clientHost: "198.51.100.7", clientPort: 5001, serverVerb: .eprt))
        )
    }

    @Test func eprtNamingTheClientsIPv4AddressAsIPv4MappedIPv6IsItsOwn() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("EPRT |2|::ffff:198.51.100.7|5001|"))
                == .openActive(.init(kind: .eprt, clientHost: "198.51.100.7", clientPort: 5001, serverVerb: .eprt))
        )
    }

    @Test func eprtOverIPv6ComparesTheCanonicalAddress() {
        var machine = Machine.greeted(.ipv6)
        #expect(
            machine.clientCommand(command("EPRT |2|2001:DB8:0::7|5001|"))
                == .openActive(.init(kind: .eprt, clientHost: "2001:db8::7", clientPort: 5001, serverVerb: .eprt))
        )
        #expect(
            machine.clientCommand(command("EPRT |2|2001:db8::8|5001|"))
                == .refuse("504 EPRT refused: the address must be your own.", .bounceAddress)
        )
    }

    @Test func eprtNamingAnotherHostOrAPrivilegedPortIsRefused() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("EPRT |1|10.0.2.1|5001|"))
                == .refuse("504 EPRT refused: the address must be your own.", .bounceAddress)
        )
        #expect(
            machine.clientCommand(command("EPRT |2|fd00::1|5001|"))
                == .refuse("504 EPRT refused: the address must be your own.", .bounceAddress)
        )
        #expect(
            machine.clientCommand(command("EPRT |1|198.51.100.7|21|"))
                == .refuse("504 EPRT refused: privileged port.", .privilegedPort)
        )
    }

    @Test(arguments: [
        "EPRT", "EPRT |1|198.51.100.7|", "EPRT |1|198.51.100.7|70000|", "EPRT |2|198.51.100.7|5001|",
        "EPRT 198,51,100,7,19,137",
    ])
    func aMalformedEprtIsRefused(_ text: String) {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command(text)) == .refuse("501 Syntax error in EPRT argument.", .malformedAddress)
        )
    }

    @Test func eprtWithAnUnknownNetworkProtocolIsAnsweredWithThe522OfRFC2428() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("EPRT |3|198.51.100.7|5001|"))
                == .refuse("522 Network protocol not supported, use (1)", .malformedAddress)
        )
        var v6 = Machine.greeted(.ipv6)
        #expect(
            v6.clientCommand(command("EPRT |3|2001:db8::7|5001|"))
                == .refuse("522 Network protocol not supported, use (2)", .malformedAddress)
        )
    }

    @Test func theListenerReadyGivesAPORTForAnIPv4Listener() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("PORT 198,51,100,7,19,137"))
                == .openActive(.init(kind: .port, clientHost: "198.51.100.7", clientPort: 5001))
        )
        #expect(
            machine.activeListenerReady(kind: .port, host: "10.0.2.254", port: 50001)
                == command("PORT 10,0,2,254,195,81")
        )
        #expect(
            machine.serverReplyLine(line("200 PORT command successful."))
                == .forward(line("200 PORT command successful."))
        )
    }

    @Test func theListenerReadyGivesAnEPRTForAnIPv6ListenerOrWhenTheClientUsedEPRT() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.activeListenerReady(kind: .port, host: "fd00::fe", port: 50001)
                == command("EPRT |2|fd00::fe|50001|")
        )
        #expect(
            machine.activeListenerReady(kind: .eprt, host: "fd00::fe", port: 50001)
                == command("EPRT |2|fd00::fe|50001|")
        )
        #expect(
            machine.activeListenerReady(kind: .eprt, host: "10.0.2.254", port: 50001)
                == command("EPRT |1|10.0.2.254|50001|")
        )
    }

    @Test func anErrorReplyToTheBalancersPortIsAnActiveRefusal() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("PORT 198,51,100,7,19,137"))
                == .openActive(.init(kind: .port, clientHost: "198.51.100.7", clientPort: 5001))
        )
        #expect(
            machine.activeListenerReady(kind: .port, host: "10.0.2.254", port: 50001)
                == command("PORT 10,0,2,254,195,81")
        )
        #expect(
            machine.serverReplyLine(line("500 Illegal PORT command."))
                == .activeRefused(line("500 Illegal PORT command."))
        )
        // The refusal answered the PORT: the next reply belongs to the next command.
        #expect(machine.clientCommand(command("NOOP")) == .forward(command("NOOP")))
        #expect(machine.serverReplyLine(line("421 Timeout.")) == .forward(line("421 Timeout.")))
    }

    @Test func aMultiLineErrorReplyToTheBalancersPortIsRefusedOnItsLastLine() {
        var machine = Machine.greeted(.ipv4)
        _ = machine.activeListenerReady(kind: .eprt, host: "10.0.2.254", port: 50001)
        #expect(machine.serverReplyLine(line("522-Only IPv6")) == .forward(line("522-Only IPv6")))
        #expect(machine.serverReplyLine(line("522 use (2)")) == .activeRefused(line("522 use (2)")))
    }

    @Test func theActiveRefusalIsScrubbed() {
        var machine = Machine.greeted(.ipv4)
        _ = machine.activeListenerReady(kind: .port, host: "10.0.2.254", port: 50001)
        #expect(
            machine.serverReplyLine(line("425 Cannot connect to 10.0.2.254."))
                == .activeRefused(line("425 Cannot connect to 192.0.2.10."))
        )
    }
}

@Suite struct ControlSessionStateMachineCommandTests {
    @Test func epsvAllIsAnsweredAndThenEveryOtherModeIsRefused() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("EPSV ALL")) == .answer("200 EPSV ALL accepted."))
        #expect(
            machine.clientCommand(command("PORT 198,51,100,7,19,137"))
                == .refuse("501 PORT not allowed after EPSV ALL.", .extendedPassiveOnly)
        )
        #expect(
            machine.clientCommand(command("PASV"))
                == .refuse("501 PASV not allowed after EPSV ALL.", .extendedPassiveOnly)
        )
        #expect(
            machine.clientCommand(command("EPRT |1|198.51.100.7|5001|"))
                == .refuse("501 EPRT not allowed after EPSV ALL.", .extendedPassiveOnly)
        )
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openPassive(.init(kind: .epsv, announcedHost: nil, serverPort: 6446))
        )
    }

    @Test func epsvAllIsCaseInsensitiveAndExpectsNoServerReply() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("epsv all")) == .answer("200 EPSV ALL accepted."))
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" AUTH TLS")) == .drop)
    }

    @Test(arguments: ["AUTH TLS", "AUTH SSL", "auth tls", "AUTH", "AUTH\tTLS"])
    func authIsRefusedWith534(_ text: String) {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command(text))
                == .refuse("534 TLS is not available through this load balancer.", .tlsUnavailable)
        )
    }

    @Test func aRefusedAuthExpectsNoServerReply() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.clientCommand(command("AUTH TLS"))
                == .refuse("534 TLS is not available through this load balancer.", .tlsUnavailable)
        )
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" PBSZ")) == .drop)
    }

    @Test func otherCommandsAreForwardedByteForByte() {
        var machine = Machine.greeted(.ipv4)
        let bytes: [UInt8] = Array("SITE CHMOD 644 caf".utf8) + [0xE9, 0xFF]
        #expect(machine.clientCommand(FTPCommand(line: line(bytes))) == .forward(FTPCommand(line: line(bytes))))
        #expect(machine.clientCommand(command("XYZZY")) == .forward(command("XYZZY")))
        #expect(machine.clientCommand(command("")) == .forward(command("")))
    }

    @Test func theCanonicalAddressDropsTheIPv4MappedPrefixAndNormalisesIPv6() {
        #expect(IPAddress.canonical("::ffff:10.0.0.1") == "10.0.0.1")
        #expect(IPAddress.canonical("2001:DB8:0:0::7") == "2001:db8::7")
        #expect(IPAddress.canonical("10.0.0.1") == "10.0.0.1")
        #expect(IPAddress.canonical("not an address") == "not an address")
    }

    @Test(arguments: ["::ffff:10.0.0.1", "2001:DB8:0:0::7", "10.0.0.1", "::1", "::ffff:0:1"])
    func anAddressGivesTheSameCanonicalTextAsItsLiteral(_ literal: String) throws {
        let address = try SocketAddress(ipAddress: literal, port: 2121)
        #expect(IPAddress.canonical(address) == IPAddress.canonical(literal))
    }

    @Test func anAddressWithoutAnIPHasNoCanonicalText() throws {
        #expect(IPAddress.canonical(try SocketAddress(unixDomainSocketPath: "/tmp/x")) == nil)
    }

    @Test func theAdvertisedAddressAndEmptyStringsAreNeverHidden() {
        let addresses = Machine.Addresses(
            client: "198.51.100.7",
            advertised: "192.0.2.10",
            hidden: ["192.0.2.10", "", "10.0.2.1"]
        )
        #expect(addresses.hidden == ["10.0.2.1"])
    }
}

@Suite struct ControlSessionStateMachineReplyTests {
    @Test func featDropsTheTLSFeaturesAndForwardsTheOthers() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" AUTH TLS")) == .drop)
        #expect(machine.serverReplyLine(line(" AUTH SSL")) == .drop)
        #expect(machine.serverReplyLine(line(" PBSZ")) == .drop)
        #expect(machine.serverReplyLine(line(" PROT")) == .drop)
        #expect(machine.serverReplyLine(line(" prot")) == .drop)
        #expect(machine.serverReplyLine(line(" EPSV")) == .forward(line(" EPSV")))
        #expect(machine.serverReplyLine(line(" MDTM")) == .forward(line(" MDTM")))
        #expect(machine.serverReplyLine(line(" AUTHX")) == .forward(line(" AUTHX")))
        #expect(machine.serverReplyLine(line(" UTF8")) == .forward(line(" UTF8")))
        #expect(machine.serverReplyLine(line("211 End")) == .forward(line("211 End")))
        // The FEAT is answered: a later multi-line 211 is not filtered.
        #expect(machine.clientCommand(command("STAT")) == .forward(command("STAT")))
        #expect(machine.serverReplyLine(line("211-Status")) == .forward(line("211-Status")))
        #expect(machine.serverReplyLine(line(" PROT C")) == .forward(line(" PROT C")))
    }

    @Test func statLinesThatLookLikeTLSFeaturesAreForwarded() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("STAT")) == .forward(command("STAT")))
        #expect(machine.serverReplyLine(line("211-FTP server status:")) == .forward(line("211-FTP server status:")))
        #expect(machine.serverReplyLine(line(" AUTH TLS requested")) == .forward(line(" AUTH TLS requested")))
        #expect(machine.serverReplyLine(line(" PROT level private")) == .forward(line(" PROT level private")))
        #expect(machine.serverReplyLine(line("211 End of status")) == .forward(line("211 End of status")))
    }

    @Test func aPreliminaryReplyDoesNotAnswerTheCommand() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("LIST")) == .forward(command("LIST")))
        #expect(machine.clientCommand(command("EPSV")) == .forward(command("EPSV")))
        #expect(
            machine.serverReplyLine(line("150 Here comes the directory listing."))
                == .forward(line("150 Here comes the directory listing."))
        )
        #expect(machine.serverReplyLine(line("226 Directory send OK.")) == .forward(line("226 Directory send OK.")))
        // The 227 answers the EPSV, so the client gets the reply of the EPSV it sent.
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)."))
                == .openPassive(.init(kind: .epsv, announcedHost: "10.0.2.1", serverPort: 40000))
        )
    }

    @Test func aPreliminaryReplyBeforeAFeatReplyLeavesTheFilterToTheFeat() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.clientCommand(command("RETR file")) == .forward(command("RETR file")))
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(
            machine.serverReplyLine(line("150 Opening BINARY mode data connection."))
                == .forward(line("150 Opening BINARY mode data connection."))
        )
        #expect(machine.serverReplyLine(line("226 Transfer complete.")) == .forward(line("226 Transfer complete.")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" AUTH TLS")) == .drop)
        #expect(machine.serverReplyLine(line("211 End")) == .forward(line("211 End")))
    }

    @Test func aReplyNamingAHiddenAddressIsScrubbed() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.serverReplyLine(line("220 Welcome to 10.0.2.1 FTP"))
                == .forward(line("220 Welcome to 192.0.2.10 FTP"))
        )
        #expect(machine.clientCommand(command("STAT")) == .forward(command("STAT")))
        #expect(machine.serverReplyLine(line("211-FTP server status:")) == .forward(line("211-FTP server status:")))
        #expect(
            machine.serverReplyLine(line("     Connected to 10.0.2.254"))
                == .forward(line("     Connected to 192.0.2.10"))
        )
        #expect(
            machine.serverReplyLine(line("     Server 10.0.2.1, peer 10.0.2.11"))
                == .forward(line("     Server 192.0.2.10, peer 10.0.2.11"))
        )
        #expect(machine.serverReplyLine(line("211 End of status")) == .forward(line("211 End of status")))
    }

    @Test func aLineOutsideAnyReplyIsForwardedScrubbed() {
        var machine = Machine.greeted(.ipv4)
        #expect(
            machine.serverReplyLine(line("server 10.0.2.1 says hello"))
                == .forward(line("server 192.0.2.10 says hello"))
        )
    }

    @Test func anIPv6HiddenAddressIsScrubbed() {
        var machine = Machine.greeted(.ipv6)
        #expect(
            machine.serverReplyLine(line("220 fd00::1 ready, not fd00::10"))
                == .forward(line("220 2001:db8::10 ready, not fd00::10"))
        )
    }

    @Test func theGreetingIsForwardedAndAnswersNoCommand() {
        var machine = Machine.greeted(.ipv4)
        #expect(machine.serverReplyLine(line("220 (vsFTPd 3.0.3)")) == .forward(line("220 (vsFTPd 3.0.3)")))
        #expect(machine.clientCommand(command("FEAT")) == .forward(command("FEAT")))
        #expect(machine.serverReplyLine(line("211-Features:")) == .forward(line("211-Features:")))
        #expect(machine.serverReplyLine(line(" PBSZ")) == .drop)
    }

    @Test func replyBytesThatAreNotUTF8AreForwardedUnchanged() {
        var machine = Machine.greeted(.ipv4)
        let bytes: [UInt8] = Array("550 caf".utf8) + [0xE9, 0xFF, 0x20] + Array(": No such file".utf8)
        #expect(machine.clientCommand(command("RETR x")) == .forward(command("RETR x")))
        #expect(machine.serverReplyLine(line(bytes)) == .forward(line(bytes)))
    }
}
