import FTPProtocol
import Testing

@Suite struct HostPortAddressTests {
    @Test func aPORTArgumentGivesTheOctetsAndThePort() throws {
        let address = try HostPortAddress(parsing: "127,0,0,1,156,64")
        #expect(address == HostPortAddress(octets: [127, 0, 0, 1], port: 40000))
        #expect(address.host == "127.0.0.1")
        #expect(address.text == "127,0,0,1,156,64")
    }

    @Test func spacesAroundTheNumbersAreTolerated() throws {
        #expect(
            try HostPortAddress(parsing: " 10, 0 ,0,1,4 , 1 ") == HostPortAddress(octets: [10, 0, 0, 1], port: 1025)
        )
    }

    @Test func leadingZerosAreReadAsDecimal() throws {
        #expect(
            try HostPortAddress(parsing: "010,000,000,001,004,001")
                == HostPortAddress(octets: [10, 0, 0, 1], port: 1025)
        )
    }

    @Test func theExtremeValuesRoundTrip() throws {
        for address in [
            HostPortAddress(octets: [0, 0, 0, 0], port: 0),
            HostPortAddress(octets: [255, 255, 255, 255], port: 65535),
            HostPortAddress(octets: [1, 2, 3, 4], port: 256),
            HostPortAddress(octets: [1, 2, 3, 4], port: 255),
        ] {
            #expect(try HostPortAddress(parsing: address.text) == address)
        }
    }

    @Test func parsingWhatWasWrittenGivesTheSameAddressForManyRandomAddresses() throws {
        var generator = SeededGenerator(seed: 227)
        for _ in 0..<2000 {
            let address = HostPortAddress(
                octets: (0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) },
                port: UInt16.random(in: 0...65535, using: &generator)
            )
            #expect(try HostPortAddress(parsing: address.text) == address)
            #expect(try HostPortAddress(passiveReplyText: "Entering Passive Mode (\(address.text)).") == address)
            #expect(HostPortAddress.octets(ofIPv4: address.host) == address.octets)
        }
    }

    @Test(arguments: [
        "",
        " ",
        ",,,,,",
        "1,2,3,4,5",
        "1,2,3,4,5,6,7",
        "1,2,3,4,5,",
        ",1,2,3,4,5",
        "256,0,0,1,4,1",
        "1,2,3,4,5,256",
        "1,2,3,4,1000,1",
        "a,b,c,d,e,f",
        "1,2,3,4,5,6x",
        "0x1,2,3,4,5,6",
        "1 2,3,4,5,6,7",
        "-1,2,3,4,5,6",
        "+1,2,3,4,5,6",
        "0001,2,3,4,5,6",
        "1.2.3.4,5,6",
        "1,2,3,4,5,\t6",
        "１,2,3,4,5,6",
    ])
    func aMalformedPORTArgumentThrows(_ text: String) {
        #expect(throws: FTPProtocolError(.malformedHostPort, input: text)) {
            try HostPortAddress(parsing: text)
        }
    }

    @Test(arguments: [
        // vsftpd
        ("Entering Passive Mode (127,0,0,1,156,64).", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
        // pure-ftpd
        ("Entering Passive Mode (10,0,2,15,117,48)", HostPortAddress(octets: [10, 0, 2, 15], port: 30000)),
        ("Entering Passive Mode 127,0,0,1,156,64", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
        ("=127,0,0,1,156,64", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
        ("Entering passive mode (127, 0, 0, 1, 156, 64)", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
        ("127,0,0,1,156,64", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
        ("Passive mode on 127,0,0,1,156,64, go ahead", HostPortAddress(octets: [127, 0, 0, 1], port: 40000)),
    ])
    func aPassiveReplyTextGivesItsAddress(_ text: String, _ expected: HostPortAddress) throws {
        #expect(try HostPortAddress(passiveReplyText: text) == expected)
    }

    @Test(arguments: [
        "",
        "Entering Passive Mode",
        "Entering Passive Mode (127,0,0,1,156)",
        "Entering Passive Mode (127,0,0,1,156,999)",
        "Entering Passive Mode (,,,,,)",
    ])
    func aPassiveReplyTextWithoutAnAddressThrows(_ text: String) {
        #expect(throws: FTPProtocolError.self) {
            try HostPortAddress(passiveReplyText: text)
        }
    }

    @Test func aMalformedPassiveReplyThrowsTheHostPortCode() {
        do {
            _ = try HostPortAddress(passiveReplyText: "Entering Passive Mode (1,2,3)")
            Issue.record("parsed a three-number address")
        } catch {
            #expect(error.code == .malformedHostPort)
        }
    }

    @Test(arguments: ["0.0.0.0", "192.0.2.10", "255.255.255.255", "010.1.1.1"])
    func aDottedQuadGivesItsOctets(_ host: String) throws {
        let octets = try #require(HostPortAddress.octets(ofIPv4: host))
        #expect(octets.count == 4)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "::1", "1.2.3.4 ", "0001.1.1.1"])
    func somethingElseIsNotADottedQuad(_ host: String) {
        #expect(HostPortAddress.octets(ofIPv4: host) == nil)
    }

    @Test func theErrorInputIsShortenedForTheLog() {
        let long = String(repeating: "9", count: 500)
        #expect(throws: FTPProtocolError(.malformedHostPort, input: String(repeating: "9", count: 80))) {
            try HostPortAddress(parsing: long)
        }
    }
}
