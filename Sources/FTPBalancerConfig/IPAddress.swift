#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP literal from the configuration, kept as written but compared by its bytes, so that the
/// checks for duplicates and overlaps see `::1` and `0::1` as the same address.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    enum Family: String, Sendable {
        case v4 = "IPv4"
        case v6 = "IPv6"
    }

    /// The address as the operator wrote it, without brackets.
    let text: String
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    let bytes: [UInt8]

    /// Parses an IPv4 dotted quad or an IPv6 literal (without brackets); nil for anything else,
    /// host names included.
    init?(_ text: String) {
        if let bytes = Self.parseIPv4(text) {
            self.text = text
            self.bytes = bytes
        } else if let bytes = Self.parseIPv6(text) {
            self.text = text
            self.bytes = bytes
        } else {
            return nil
        }
    }

    var family: Family { self.bytes.count == 4 ? .v4 : .v6 }

    /// True for 0.0.0.0 and :: however written: these mean "every address" and cannot be given
    /// to a client.
    var isWildcard: Bool { self.bytes.allSatisfy { $0 == 0 } }

    var description: String { self.text }

    static func == (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.bytes == rhs.bytes
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(self.bytes)
    }

    /// Four decimal octets from 0 to 255. A leading zero is refused because inet_aton reads it
    /// as octal: `010` would mean 8 to some tools and 10 to others.
    static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else {
            return nil
        }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count),
                part.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                part.count == 1 || part.first != UInt8(ascii: "0")
            else {
                return nil
            }
            let value = part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard value <= 255 else {
                return nil
            }
            bytes.append(UInt8(value))
        }
        return bytes
    }

    /// The platform's own IPv6 parser, which knows every abbreviated form. Zone indexes
    /// (`fe80::1%eth0`) are not literals it accepts, and neither do we.
    static func parseIPv6(_ text: String) -> [UInt8]? {
        // A NUL would end the C string early and let trailing junk through.
        guard text.contains(":"), !text.utf8.contains(0) else {
            return nil
        }
        var address = in6_addr()
        let result = text.withCString { inet_pton(AF_INET6, $0, &address) }
        guard result == 1 else {
            return nil
        }
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
