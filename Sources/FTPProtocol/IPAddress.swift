import NIOCore

/// An IPv4 or IPv6 address, compared by its bytes, with the one canonical text every part of
/// the balancer compares and shows: `::1` and `0::1` are the same address, and an IPv4-mapped
/// IPv6 address (a v4 client of a `::` listener) is written as the IPv4 address it stands for.
package struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    package enum Family: String, Sendable {
        case v4 = "IPv4"
        case v6 = "IPv6"
    }

    /// The address as it was written (without brackets), or its canonical text when it came
    /// from the kernel.
    package let text: String
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    package let bytes: [UInt8]

    /// Parses an IPv4 dotted quad or an IPv6 literal (without brackets); nil for anything else,
    /// host names and zone indexes included.
    package init?(_ text: String) {
        guard let bytes = Self.parseIPv4(text) ?? Self.parseIPv6(text) else { return nil }
        self.text = text
        self.bytes = bytes
    }

    /// An IP literal that may end in an IPv6 zone index (`fe80::1%eth0`), which the address
    /// does not keep: the addresses the kernel gives carry none in their text either.
    package init?(zoned text: String) {
        guard text.contains(":"), let percent = text.firstIndex(of: "%") else {
            self.init(text)
            return
        }
        self.init(String(text[..<percent]))
    }

    /// The IP address of a socket address (nil for a Unix-domain one), its text canonical.
    package init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(canonicalBytes: withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }, v6Text: nil)
        case .v6(let v6):
            // The kernel's own text (inet_ntop's) is canonical already: no second formatting.
            self.init(
                canonicalBytes: withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) },
                v6Text: address.ipAddress
            )
        default:
            return nil
        }
    }

    private init(canonicalBytes bytes: [UInt8], v6Text: String?) {
        self.init(text: Self.canonicalText(of: bytes, v6Text: v6Text), bytes: bytes)
    }

    private init(text: String, bytes: [UInt8]) {
        self.text = text
        self.bytes = bytes
    }

    package var family: Family { self.bytes.count == 4 ? .v4 : .v6 }

    /// True for 0.0.0.0 and :: however written: these mean "every address" and cannot be given
    /// to a client.
    package var isWildcard: Bool { self.bytes.allSatisfy { $0 == 0 } }

    package var description: String { self.text }

    /// The four octets of an IPv4 address; nil for IPv6, IPv4-mapped included.
    package var ipv4Octets: [UInt8]? { self.family == .v4 ? self.bytes : nil }

    /// The IPv4 address an IPv4-mapped IPv6 address stands for; any other address itself.
    package var unmapped: IPAddress {
        guard self.isIPv4Mapped else { return self }
        let octets = Array(self.bytes[12...])
        return IPAddress(text: Self.dottedQuad(octets), bytes: octets)
    }

    /// The one text of this address the balancer compares and shows: IPv4 as a dotted quad,
    /// IPv4-mapped IPv6 as that IPv4 address, other IPv6 in inet_ntop's form (RFC 5952).
    package var canonical: String { Self.canonicalText(of: self.bytes, v6Text: nil) }

    private var isIPv4Mapped: Bool {
        self.bytes.count == 16 && self.bytes[..<10].allSatisfy { $0 == 0 } && self.bytes[10] == 0xFF
            && self.bytes[11] == 0xFF
    }

    package static func == (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.bytes == rhs.bytes
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(self.bytes)
    }
}

extension IPAddress {
    /// The canonical text of an IP literal, without its zone index if any; anything else (a
    /// host name, `?`) unchanged.
    package static func canonical(_ host: String) -> String {
        IPAddress(zoned: host)?.canonical ?? host
    }

    /// The canonical text of an address the kernel gave; nil for a Unix-domain one.
    package static func canonical(_ address: SocketAddress) -> String? {
        IPAddress(address)?.text
    }

    /// Four decimal octets from 0 to 255. A leading zero is refused because inet_aton reads it
    /// as octal: `010` would mean 8 to some tools and 10 to others. `allowingLeadingZeros`
    /// reads each octet as PORT's `h1,h2,h3,h4` fields are read, in decimal whatever its zeros.
    package static func parseIPv4(_ text: some StringProtocol, allowingLeadingZeros: Bool = false) -> [UInt8]? {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4)
        for part in parts {
            guard (1...3).contains(part.count),
                part.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                allowingLeadingZeros || part.count == 1 || part.first != UInt8(ascii: "0")
            else {
                return nil
            }
            let value = part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard value <= 255 else { return nil }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    /// The platform's own IPv6 parser (inet_pton, through SwiftNIO), which knows every
    /// abbreviated form. Zone indexes (`fe80::1%eth0`) are not literals (SwiftNIO would take
    /// them to getaddrinfo): `init(zoned:)` drops them where they may come.
    package static func parseIPv6(_ text: String) -> [UInt8]? {
        // A NUL would end the C string early and let trailing junk through.
        guard text.contains(":"), !text.utf8.contains(0), !text.contains("%"),
            case .v6(let v6) = try? SocketAddress(ipAddress: text, port: 0)
        else {
            return nil
        }
        return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
    }

    private static func canonicalText(of bytes: [UInt8], v6Text: String?) -> String {
        let address = IPAddress(text: "", bytes: bytes).unmapped
        if address.family == .v4 { return Self.dottedQuad(address.bytes) }
        if let v6Text { return v6Text }
        var packed = ByteBuffer()
        packed.writeBytes(bytes)
        return (try? SocketAddress(packedIPAddress: packed, port: 0))?.ipAddress ?? ""
    }

    private static func dottedQuad(_ octets: [UInt8]) -> String {
        octets.map(String.init).joined(separator: ".")
    }
}
