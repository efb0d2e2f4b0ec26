import FTPProtocol
import NIOCore
import Testing

@Suite("One IP address type, one canonical text")
struct IPAddressTests {
    @Test("A dotted quad is four bytes, IPv4, written as given.")
    func aDottedQuadIsIPv4() throws {
        let address = try #require(IPAddress("192.0.2.7"))
        #expect(address.family == .v4)
        #expect(address.bytes == [192, 0, 2, 7])
        #expect(address.ipv4Octets == [192, 0, 2, 7])
        #expect(address.text == "192.0.2.7")
        #expect(address.canonical == "192.0.2.7")
    }

    @Test(
        "Leading zeros are refused unless asked for, where they read as decimal.",
        arguments: ["010.0.0.1", "10.0.0.01", "00.1.2.3"]
    )
    func leadingZerosOnlyWhenAskedFor(_ text: String) throws {
        #expect(IPAddress(text) == nil)
        #expect(IPAddress.parseIPv4(text) == nil)
        let octets = try #require(IPAddress.parseIPv4(text, allowingLeadingZeros: true))
        #expect(octets.count == 4)
    }

    @Test("Zero-padded octets read as decimal, never octal.")
    func zeroPaddedOctetsAreDecimal() {
        #expect(IPAddress.parseIPv4("010.000.001.255", allowingLeadingZeros: true) == [10, 0, 1, 255])
    }

    @Test(
        "Neither parser takes what is not an address.",
        arguments: [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "0001.1.1.1",
            "host.example", "::1%lo", "fe80::1%eth0", "1::2::3", "::g", "1.2.3.4\u{0}::1",
        ]
    )
    func somethingElseIsNotAnAddress(_ text: String) {
        #expect(IPAddress(text) == nil)
        #expect(IPAddress.parseIPv4(text, allowingLeadingZeros: true) == nil)
    }

    @Test("IPv6 forms of the same address are one address, and the canonical text is inet_ntop's.")
    func ipv6FormsAreOneAddress() throws {
        let long = try #require(IPAddress("2001:DB8:0:0:0:0:0:7"))
        let short = try #require(IPAddress("2001:db8::7"))
        #expect(long == short)
        #expect(Set([long, short]).count == 1)
        #expect(long.family == .v6)
        #expect(long.ipv4Octets == nil)
        #expect(long.text == "2001:DB8:0:0:0:0:0:7")
        #expect(long.canonical == "2001:db8::7")
    }

    @Test("An IPv4-mapped IPv6 address is written as its IPv4 address, but stays IPv6 until unmapped.")
    func aMappedAddressIsWrittenAsIPv4() throws {
        let mapped = try #require(IPAddress("::FFFF:10.0.0.1"))
        #expect(mapped.family == .v6)
        #expect(mapped.canonical == "10.0.0.1")
        #expect(mapped.unmapped == IPAddress("10.0.0.1"))
        #expect(mapped.unmapped.text == "10.0.0.1")
        #expect(mapped != IPAddress("10.0.0.1"))
        #expect(IPAddress("::1")?.unmapped == IPAddress("::1"))
        #expect(IPAddress("::ffff:0:1")?.canonical == "0.0.0.1")
        #expect(IPAddress("::ffff:1:0:1")?.canonical == "::ffff:1:0:1")
    }

    @Test("The canonical text of a string drops a zone index and leaves non-addresses as they are.")
    func canonicalOfAString() {
        #expect(IPAddress.canonical("::ffff:10.0.0.1") == "10.0.0.1")
        #expect(IPAddress.canonical("FE80::11%eth0") == "fe80::11")
        #expect(IPAddress.canonical("10.0.0.1%eth0") == "10.0.0.1%eth0")
        #expect(IPAddress.canonical("?") == "?")
        #expect(IPAddress.canonical("ftp.example.com") == "ftp.example.com")
        #expect(IPAddress(zoned: "fe80::1%eth0") == IPAddress("fe80::1"))
        #expect(IPAddress(zoned: "10.0.0.1") == IPAddress("10.0.0.1"))
    }

    @Test(
        "A socket address gives the same canonical text as its literal.",
        arguments: [
            "::ffff:10.0.0.1", "2001:DB8:0:0::7", "10.0.0.1", "::1", "::", "0.0.0.0", "::ffff:0:1", "::1.2.3.4",
        ]
    )
    func aSocketAddressGivesTheCanonicalText(_ literal: String) throws {
        let socket = try SocketAddress(ipAddress: literal, port: 2121)
        let address = try #require(IPAddress(socket))
        #expect(address == IPAddress(literal))
        #expect(address.text == IPAddress.canonical(literal))
        #expect(IPAddress.canonical(socket) == IPAddress.canonical(literal))
    }

    @Test("A Unix-domain socket has no IP address.")
    func aUnixSocketHasNone() throws {
        let socket = try SocketAddress(unixDomainSocketPath: "/tmp/x")
        #expect(IPAddress(socket) == nil)
        #expect(IPAddress.canonical(socket) == nil)
    }

    @Test("0.0.0.0 and :: however written are wildcards; nothing else is.")
    func wildcards() {
        #expect(IPAddress("0.0.0.0")?.isWildcard == true)
        #expect(IPAddress("0:0::0")?.isWildcard == true)
        #expect(IPAddress("0.0.0.1")?.isWildcard == false)
        #expect(IPAddress("::1")?.isWildcard == false)
    }

    @Test("For many random addresses the canonical text parses back to the same bytes, and is its own canonical text.")
    func canonicalTextRoundTrips() throws {
        var generator = SeededGenerator(seed: 5952)
        for round in 0..<2000 {
            var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Every few rounds a mapped, compatible or zero-run address, the forms inet_ntop shortens.
            switch round % 4 {
            case 1: bytes.replaceSubrange(0..<12, with: Array(repeating: 0, count: 10) + [0xFF, 0xFF])
            case 2: bytes.replaceSubrange(2..<8, with: Array(repeating: 0, count: 6))
            case 3: bytes = Array(bytes[0..<4])
            default: break
            }
            var packed = ByteBuffer()
            packed.writeBytes(bytes)
            let address = try #require(IPAddress(try SocketAddress(packedIPAddress: packed, port: 0)))
            let reparsed = try #require(IPAddress(address.canonical))
            #expect(reparsed == address.unmapped)
            #expect(reparsed.canonical == address.canonical)
            #expect(IPAddress.canonical(address.canonical) == address.canonical)
        }
    }
}
