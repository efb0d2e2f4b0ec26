import FTPProtocol
import Testing

@Suite struct ExtendedAddressTests {
    @Test func anIPv4EPRTArgumentGivesProtocolHostAndPort() throws {
        let address = try ExtendedAddress(parsing: "|1|132.235.1.2|6275|")
        #expect(address == ExtendedAddress(networkProtocol: .ipv4, host: "132.235.1.2", port: 6275))
        #expect(address.text == "|1|132.235.1.2|6275|")
    }

    @Test func anIPv6EPRTArgumentGivesProtocolHostAndPort() throws {
        let address = try ExtendedAddress(parsing: "|2|1080::8:800:200C:417A|5282|")
        #expect(address == ExtendedAddress(networkProtocol: .ipv6, host: "1080::8:800:200C:417A", port: 5282))
        #expect(try ExtendedAddress(parsing: "|2|::ffff:10.0.0.1|5282|").host == "::ffff:10.0.0.1")
    }

    @Test(arguments: ["!", "#", "~", "%", "a"])
    func anyPrintableDelimiterThatIsNotADigitIsAccepted(_ delimiter: String) throws {
        let text = delimiter + ["1", "10.0.0.1", "5000"].joined(separator: delimiter) + delimiter
        #expect(
            try ExtendedAddress(parsing: text) == ExtendedAddress(networkProtocol: .ipv4, host: "10.0.0.1", port: 5000)
        )
    }

    @Test func parsingWhatWasWrittenGivesTheSameAddressForManyRandomAddresses() throws {
        var generator = SeededGenerator(seed: 2428)
        for _ in 0..<1000 {
            let port = UInt16.random(in: 0...65535, using: &generator)
            let ipv4 = (0..<4).map { _ in String(UInt8.random(in: 0...255, using: &generator)) }.joined(separator: ".")
            let v4 = ExtendedAddress(networkProtocol: .ipv4, host: ipv4, port: port)
            #expect(try ExtendedAddress(parsing: v4.text) == v4)

            var groups = (0..<8).map { _ in String(UInt16.random(in: 0...0xFFFF, using: &generator), radix: 16) }
            if Bool.random(using: &generator) {
                groups.replaceSubrange(2..<5, with: [""])
            }
            let v6 = ExtendedAddress(networkProtocol: .ipv6, host: groups.joined(separator: ":"), port: port)
            #expect(try ExtendedAddress(parsing: v6.text) == v6, "\(v6.text)")
        }
    }

    @Test(arguments: [
        "",
        "|",
        "||||",
        "|1|10.0.0.1|5000",
        "1|10.0.0.1|5000|",
        "7110.0.0.1750007",
        " 1 10.0.0.1 5000 ",
        "|1|10.0.0.1|5000||",
        "|1|10.0.0.1|70000|",
        "|1|10.0.0.1|123456|",
        "|1|10.0.0.1||",
        "|1|10.0.0.1|port|",
        "|1|10.0.0.1|-1|",
        "||10.0.0.1|5000|",
        "|x|10.0.0.1|5000|",
        "|1|10.0.0|5000|",
        "|1|10.0.0.256|5000|",
        "|1|::1|5000|",
        "|2|10.0.0.1|5000|",
        "|2||5000|",
        "|2|fe80::1%eth0|5000|",
        "|2|host.example|5000|",
    ])
    func aMalformedEPRTArgumentThrows(_ text: String) {
        #expect(throws: FTPProtocolError(.malformedExtendedAddress, input: text)) {
            try ExtendedAddress(parsing: text)
        }
    }

    @Test(arguments: ["|3|10.0.0.1|5000|", "|0|10.0.0.1|5000|", "|12|::1|5000|"])
    func aNetworkProtocolOtherThanOneOrTwoIsUnsupported(_ text: String) {
        #expect(throws: FTPProtocolError(.unsupportedNetworkProtocol, input: text)) {
            try ExtendedAddress(parsing: text)
        }
    }
}

@Suite struct ExtendedPassiveReplyTests {
    @Test(arguments: [
        ("229 Entering Extended Passive Mode (|||6446|)", 6446),
        ("229 Entering Extended Passive Mode (|||6446|).", 6446),
        ("Entering Extended Passive Mode (!!!1!)", 1),
        ("229 EPSV ok (###65535#)", 65535),
        ("229 (|||00021|)", 21),
        // Not ASCII: read Character by Character, as every reply was before the byte reading.
        ("229 Entrée en mode passif étendu (|||2121|)", 2121),
    ])
    func a229ReplyGivesItsPort(_ text: String, _ port: Int) throws {
        #expect(try Int(ExtendedPassiveReply.port(inReplyText: text)) == port)
    }

    @Test func parsingWhatWasWrittenGivesTheSamePortForEveryPort() throws {
        for port in UInt16(1)...UInt16.max {
            let text = "229 Entering Extended Passive Mode (|||\(port)|)"
            guard try ExtendedPassiveReply.port(inReplyText: text) == port else {
                Issue.record("port \(port) did not round trip")
                return
            }
        }
    }

    @Test(arguments: [
        "",
        "229 Entering Extended Passive Mode",
        "229 Entering Extended Passive Mode |||6446|",
        "229 Entering Extended Passive Mode (|||6446)",
        "229 Entering Extended Passive Mode (||6446|)",
        "229 Entering Extended Passive Mode (|1|10.0.0.1|6446|)",
        "229 Entering Extended Passive Mode (||1|6446|)",
        "229 Entering Extended Passive Mode (|||0|)",
        "229 Entering Extended Passive Mode (|||65536|)",
        "229 Entering Extended Passive Mode (|||123456|)",
        "229 Entering Extended Passive Mode (||||)",
        "229 Entering Extended Passive Mode (|||port|)",
        "229 Entering Extended Passive Mode (|||64 46|)",
        "229 Entering Extended Passive Mode (|!|6446|)",
        "229 Entering Extended Passive Mode (|||6446||)",
        "229 Entering Extended Passive Mode ()",
    ])
    func a229ReplyWithoutAPortThrows(_ text: String) {
        #expect(throws: FTPProtocolError(.malformedExtendedPassiveReply, input: text)) {
            try ExtendedPassiveReply.port(inReplyText: text)
        }
    }
}
