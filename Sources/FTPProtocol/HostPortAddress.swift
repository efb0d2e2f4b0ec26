/// An IPv4 address and port in the form of PORT arguments and 227 replies:
/// `h1,h2,h3,h4,p1,p2` (RFC 959 section 4.1.2).
package struct HostPortAddress: Equatable, Sendable {
    package var octets: [UInt8]
    package var port: UInt16

    package init(octets: [UInt8], port: UInt16) {
        precondition(octets.count == 4)
        self.octets = octets
        self.port = port
    }

    /// Parses exactly `h1,h2,h3,h4,p1,p2`; spaces around numbers are tolerated.
    package init(parsing text: some StringProtocol) throws(FTPProtocolError) {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 6 else { throw FTPProtocolError(.malformedHostPort, input: text) }
        var numbers: [UInt8] = []
        numbers.reserveCapacity(6)
        for field in fields {
            let digits = field.trimmingSpaces
            guard (1...3).contains(digits.count), digits.allSatisfy(\.isASCIIDigit), let number = UInt8(digits) else {
                throw FTPProtocolError(.malformedHostPort, input: text)
            }
            numbers.append(number)
        }
        self.octets = Array(numbers[0..<4])
        self.port = UInt16(numbers[4]) << 8 | UInt16(numbers[5])
    }

    /// Finds the address in the text of a 227 reply. RFC 959 does not fix the wording, and
    /// servers differ (`(h1,...)`, `=h1,...`, no parentheses), so this takes the first run of
    /// six comma-separated numbers.
    package init(passiveReplyText text: some StringProtocol) throws(FTPProtocolError) {
        guard let start = text.firstIndex(where: \.isASCIIDigit) else {
            throw FTPProtocolError(.malformedHostPort, input: text)
        }
        let candidate = text[start...].prefix { $0.isASCIIDigit || $0 == "," || $0 == " " }
        let trimmed = candidate.trimmingSpaces
        try self.init(parsing: trimmed.hasSuffix(",") ? trimmed.dropLast() : trimmed)
    }

    /// The dotted-quad form, as SocketAddress and logs use it.
    package var host: String { self.octets.map(String.init).joined(separator: ".") }

    /// `h1,h2,h3,h4,p1,p2`.
    package var text: String {
        (self.octets + [UInt8(self.port >> 8), UInt8(self.port & 0xff)]).map(String.init).joined(separator: ",")
    }

    /// The octets of a dotted quad as the wire forms write it (EPRT's `|1|h.h.h.h|p|`): each
    /// number in decimal, as PORT's fields are, leading zeros allowed; nil for anything else.
    package static func octets(ofIPv4 host: String) -> [UInt8]? {
        IPAddress.parseIPv4(host, allowingLeadingZeros: true)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension StringProtocol {
    var trimmingSpaces: SubSequence {
        let start = self.firstIndex { $0 != " " } ?? self.endIndex
        let end = self.lastIndex { $0 != " " }.map { self.index(after: $0) } ?? start
        return self[start..<Swift.max(start, end)]
    }
}
