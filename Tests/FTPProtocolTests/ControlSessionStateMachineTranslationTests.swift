import NIOCore
import Testing

// @testable for the memberwise initializers of PassiveRequest and ActiveRequest, which are internal.
@testable import FTPProtocol

private typealias Machine = ControlSessionStateMachine

private let ipv4Client = Machine.Addresses(
    client: "198.51.100.7",
    advertised: "192.0.2.10",
    hidden: ["10.0.2.1", "10.0.2.254"]
)
private let ipv6Client = Machine.Addresses(
    client: "2001:db8::7",
    advertised: "2001:db8::10",
    hidden: ["10.0.2.1", "10.0.2.254"]
)

/// A machine whose server has sent its greeting.
private func greeted(
    _ addresses: Machine.Addresses,
    _ policy: DataTransferPolicy,
    serverIsIPv6: Bool = false
) -> Machine {
    var machine = Machine(addresses: addresses, policy: policy, serverIsIPv6: serverIsIPv6)
    _ = machine.serverReplyLine(line("220 ready"))
    return machine
}

@Suite struct DataTransferPolicyTests {
    @Test func anIPv6ServerNeverGetsAVerbThatCanOnlyNameIPv4() {
        for policy in DataTransferPolicy.allCases {
            for verb in DataVerb.allCases {
                let sent = policy.serverVerb(forClient: verb, serverIsIPv6: true)
                #expect(sent == .epsv || sent == .eprt, "\(policy) \(verb) gave \(sent)")
            }
        }
    }

    @Test func eachPolicyGivesAnIPv4ServerItsVerb() {
        #expect(DataTransferPolicy.client.serverVerb(forClient: .port, serverIsIPv6: false) == .port)
        #expect(DataTransferPolicy.client.serverVerb(forClient: .eprt, serverIsIPv6: false) == .eprt)
        #expect(DataTransferPolicy.passive.serverVerb(forClient: .port, serverIsIPv6: false) == .epsv)
        #expect(DataTransferPolicy.active.serverVerb(forClient: .epsv, serverIsIPv6: false) == .port)
        #expect(DataTransferPolicy.active.serverVerb(forClient: .epsv, serverIsIPv6: true) == .eprt)
        #expect(DataTransferPolicy.pasv.serverVerb(forClient: .eprt, serverIsIPv6: false) == .pasv)
        #expect(DataTransferPolicy.eprt.serverVerb(forClient: .pasv, serverIsIPv6: false) == .eprt)
    }

    @Test func onlyThePassivePolicyRetriesWithPASVAndOnlyTowardsIPv4() {
        #expect(DataTransferPolicy.passive.retriesWithPASV(serverIsIPv6: false))
        #expect(!DataTransferPolicy.passive.retriesWithPASV(serverIsIPv6: true))
        #expect(!DataTransferPolicy.epsv.retriesWithPASV(serverIsIPv6: false))
    }
}

@Suite struct ControlSessionStateMachineTranslationTests {
    @Test func pasvFromAnIPv4ClientReachesAnIPv6ServerAsEPSVAndTheClientStillGets227() {
        var machine = greeted(ipv4Client, .client, serverIsIPv6: true)
        #expect(machine.clientCommand(command("PASV")) == .forward(FTPCommand(verb: "EPSV")))
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openPassive(.init(kind: .pasv, announcedHost: nil, serverPort: 6446))
        )
        #expect(machine.passiveReply(kind: .pasv, port: 50001) == "227 Entering Passive Mode (192,0,2,10,195,81).")
    }

    @Test func portUnderThePassivePolicySendsEPSVRetriesPASVAndConnectsBothSides() {
        var machine = greeted(ipv4Client, .passive)
        #expect(machine.clientCommand(command("PORT 198,51,100,7,19,137")) == .forward(FTPCommand(verb: "EPSV")))
        #expect(machine.holdsCommands)
        #expect(machine.serverReplyLine(line("500-EPSV?")) == .drop)
        #expect(machine.serverReplyLine(line("500 Unknown command.")) == .resend(FTPCommand(verb: "PASV")))
        #expect(!machine.holdsCommands)
        #expect(machine.outstandingReplies == 1)
        #expect(
            machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)"))
                == .openTranslatedActive(
                    .init(kind: .port, clientHost: "198.51.100.7", clientPort: 5001),
                    .init(kind: .pasv, announcedHost: "10.0.2.1", serverPort: 40000)
                )
        )
        #expect(machine.outstandingReplies == 0)
        #expect(machine.activeReply(kind: .port) == "200 PORT command successful.")
    }

    @Test func aServerThatRefusedEPSVOnceGetsPASVDirectlyFromThenOn() {
        var machine = greeted(ipv4Client, .passive)
        _ = machine.clientCommand(command("EPSV"))
        #expect(machine.serverReplyLine(line("500 Unknown command.")) == .resend(FTPCommand(verb: "PASV")))
        _ = machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)"))
        #expect(machine.clientCommand(command("EPSV")) == .forward(FTPCommand(verb: "PASV")))
        #expect(!machine.holdsCommands)
        _ = machine.serverReplyLine(line("227 Entering Passive Mode (10,0,2,1,156,64)"))
        #expect(machine.clientCommand(command("PORT 198,51,100,7,19,137")) == .forward(FTPCommand(verb: "PASV")))
    }

    @Test func aSecondRefusalAfterTheRetryReachesTheClientScrubbed() {
        var machine = greeted(ipv4Client, .passive)
        _ = machine.clientCommand(command("PASV"))
        #expect(machine.serverReplyLine(line("502 no EPSV")) == .resend(FTPCommand(verb: "PASV")))
        #expect(machine.serverReplyLine(line("502 no PASV at 10.0.2.1")) == .forward(line("502 no PASV at 192.0.2.10")))
        #expect(machine.outstandingReplies == 0)
    }

    @Test func theEPSVPolicyDoesNotRetry() {
        var machine = greeted(ipv4Client, .epsv)
        #expect(machine.clientCommand(command("PASV")) == .forward(FTPCommand(verb: "EPSV")))
        #expect(!machine.holdsCommands)
        #expect(machine.serverReplyLine(line("500 Unknown command.")) == .forward(line("500 Unknown command.")))
    }

    @Test func epsvUnderTheActivePolicyOpensBothListenersAndAnswersOnlyOnceTheServerTookPORT() {
        var machine = greeted(ipv6Client, .active)
        #expect(machine.clientCommand(command("EPSV")) == .openTranslatedPassive(.init(kind: .epsv, serverVerb: .port)))
        #expect(machine.outstandingReplies == 0)
        #expect(
            machine.activeListenerReady(kind: .port, host: "10.0.2.254", port: 50001, answering: .epsv)
                == FTPCommand(verb: "PORT", argument: "10,0,2,254,195,81")
        )
        #expect(machine.serverReplyLine(line("200-PORT command")) == .drop)
        #expect(machine.serverReplyLine(line("200 successful")) == .answerPassive(.epsv))
        #expect(machine.passiveReply(kind: .epsv, port: 40001) == "229 Entering Extended Passive Mode (|||40001|)")
    }

    @Test func aServerRefusingTheTranslatedPORTIsRelayedScrubbedAndClosesTheListeners() {
        var machine = greeted(ipv4Client, .port)
        #expect(machine.clientCommand(command("PASV")) == .openTranslatedPassive(.init(kind: .pasv, serverVerb: .port)))
        _ = machine.activeListenerReady(kind: .port, host: "10.0.2.254", port: 50001, answering: .pasv)
        #expect(
            machine.serverReplyLine(line("500 Illegal PORT 10,0,2,254,195,81"))
                == .activeRefused(line("500 Illegal PORT 10,0,2,254,195,81"))
        )
    }

    @Test func eprtFromAnIPv6ClientUnderTheEPSVPolicyGivesTheIPv4ServerEPSV() {
        var machine = greeted(ipv6Client, .epsv)
        #expect(machine.clientCommand(command("EPRT |2|2001:db8::7|5001|")) == .forward(FTPCommand(verb: "EPSV")))
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openTranslatedActive(
                    .init(kind: .eprt, clientHost: "2001:db8::7", clientPort: 5001),
                    .init(kind: .epsv, announcedHost: nil, serverPort: 6446)
                )
        )
        #expect(machine.activeReply(kind: .eprt) == "200 EPRT command successful.")
    }

    @Test func eprtFromAnIPv6ClientReachesAnIPv4ServerWithAnIPv4Address() {
        var machine = greeted(ipv6Client, .client)
        #expect(
            machine.clientCommand(command("EPRT |2|2001:db8::7|5001|"))
                == .openActive(.init(kind: .eprt, clientHost: "2001:db8::7", clientPort: 5001, serverVerb: .eprt))
        )
        #expect(
            machine.activeListenerReady(kind: .eprt, host: "10.0.2.254", port: 50001)
                == FTPCommand(verb: "EPRT", argument: "|1|10.0.2.254|50001|")
        )
        #expect(machine.serverReplyLine(line("200 EPRT ok")) == .forward(line("200 EPRT ok")))
    }

    @Test func portUnderTheEPRTPolicyGivesTheServerEPRT() {
        var machine = greeted(ipv4Client, .eprt)
        #expect(
            machine.clientCommand(command("PORT 198,51,100,7,19,137"))
                == .openActive(.init(kind: .port, clientHost: "198.51.100.7", clientPort: 5001, serverVerb: .eprt))
        )
    }

    @Test func bounceProtectionHoldsForAnIPv6EPRTWhateverThePolicy() {
        for policy in DataTransferPolicy.allCases {
            var machine = greeted(ipv6Client, policy)
            #expect(
                machine.clientCommand(command("EPRT |2|2001:db8::99|5001|"))
                    == .refuse("504 EPRT refused: the address must be your own.", .bounceAddress)
            )
            #expect(
                machine.clientCommand(command("EPRT |2|2001:db8::7|1023|"))
                    == .refuse("504 EPRT refused: privileged port.", .privilegedPort)
            )
        }
    }

    @Test func anIPv4MappedEPRTAddressIsTheSameIPv4Client() {
        var machine = greeted(ipv4Client, .passive)
        #expect(
            machine.clientCommand(command("EPRT |2|::ffff:198.51.100.7|5001|")) == .forward(FTPCommand(verb: "EPSV"))
        )
    }

    @Test func pasvOnAnIPv6ControlConnectionStillTellsTheClientToUseEPSV() {
        for policy in DataTransferPolicy.allCases {
            var machine = greeted(ipv6Client, policy)
            #expect(
                machine.clientCommand(command("PASV"))
                    == .refuse("502 PASV cannot name an IPv6 address; use EPSV.", .unsupportedCommand)
            )
            #expect(machine.outstandingReplies == 0)
        }
    }

    @Test func commandsAfterAnEPSVThatMayBeRetriedWaitForItsReply() {
        var machine = greeted(ipv4Client, .passive)
        _ = machine.clientCommand(command("EPSV"))
        #expect(machine.holdsCommands)
        #expect(
            machine.serverReplyLine(line("229 Entering Extended Passive Mode (|||6446|)"))
                == .openPassive(.init(kind: .epsv, announcedHost: nil, serverPort: 6446))
        )
        #expect(!machine.holdsCommands)
    }
}
