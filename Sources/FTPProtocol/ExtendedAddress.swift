/// The argument of EPRT: `<d>proto<d>address<d>port<d>` (RFC 2428 section 2), where `<d>` is
/// any printable ASCII character and proto is 1 (IPv4) or 2 (IPv6).
package struct ExtendedAddress: Equatable, Sendable {
    package enum NetworkProtocol: Int, Equatable, Sendable {
        case ipv4 = 1
        case ipv6 = 2
    }

    package var networkProtocol: NetworkProtocol
    /// The address as written; checked to be a literal of the named protocol.
    package var host: String
    package var port: UInt16

    package init(networkProtocol: NetworkProtocol, host: String, port: UInt16) {
        self.networkProtocol = networkProtocol
        self.host = host
        self.port = port
    }

    package init(parsing text: some StringProtocol) throws(FTPProtocolError) {
        guard let delimiter = text.first, (33...126).contains(delimiter.asciiValue ?? 0), !delimiter.isASCIIDigit else {
            throw FTPProtocolError(.malformedExtendedAddress, input: text)
        }
        let fields = text.split(separator: delimiter, omittingEmptySubsequences: false)
        // "|1|h|p|" splits into "", "1", "h", "p", "".
        guard fields.count == 5, fields[0].isEmpty, fields[4].isEmpty else {
            throw FTPProtocolError(.malformedExtendedAddress, input: text)
        }
        guard fields[1].allSatisfy(\.isASCIIDigit), let number = Int(fields[1]) else {
            throw FTPProtocolError(.malformedExtendedAddress, input: text)
        }
        guard let networkProtocol = NetworkProtocol(rawValue: number) else {
            throw FTPProtocolError(.unsupportedNetworkProtocol, input: text)
        }
        let host = String(fields[2])
        switch networkProtocol {
        case .ipv4:
            guard HostPortAddress.octets(ofIPv4: host) != nil else {
                throw FTPProtocolError(.malformedExtendedAddress, input: text)
            }
        case .ipv6:
            guard Self.looksLikeIPv6(host) else {
                throw FTPProtocolError(.malformedExtendedAddress, input: text)
            }
        }
        guard (1...5).contains(fields[3].count), fields[3].allSatisfy(\.isASCIIDigit), let port = UInt16(fields[3]) else {
            throw FTPProtocolError(.malformedExtendedAddress, input: text)
        }
        self.networkProtocol = networkProtocol
        self.host = host
        self.port = port
    }

    /// `|proto|address|port|`.
    package var text: String { "|\(self.networkProtocol.rawValue)|\(self.host)|\(self.port)|" }

    /// A cheap shape check; the balancer compares the address with the client's own anyway.
    private static func looksLikeIPv6(_ host: String) -> Bool {
        !host.isEmpty && host.count <= 45 && host.contains(":")
            && host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

/// The port of a 229 reply: `229 text (<d><d><d>port<d>)` (RFC 2428 section 3).
package enum ExtendedPassiveReply {
    package static func port(inReplyText text: some StringProtocol) throws(FTPProtocolError) -> UInt16 {
        var line = String(text)
        if let port = line.withUTF8(Self.port(inPrintableASCII:)) {
            return port
        }
        return try Self.port(inCharacters: text)
    }

    /// The same rules on the bytes of a reply that is printable ASCII only, where every byte
    /// is one Character: nil if the reply is not, or if the rules refuse it (the Character
    /// walk below then says why). This runs for every EPSV; walking Characters of a generic
    /// string took 9 microseconds of a session's 1,200.
    private static func port(inPrintableASCII bytes: UnsafeBufferPointer<UInt8>) -> UInt16? {
        guard bytes.allSatisfy({ (0x20...0x7e).contains($0) }), let open = bytes.firstIndex(of: UInt8(ascii: "(")) else {
            return nil
        }
        let inside = bytes[(open + 1)...].prefix { $0 != UInt8(ascii: ")") }
        guard let delimiter = inside.first, inside.count >= 5 else { return nil }
        let fields = inside.split(separator: delimiter, omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1].isEmpty, fields[2].isEmpty, fields[4].isEmpty,
            (1...5).contains(fields[3].count), fields[3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        let value = fields[3].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard value > 0, value <= Int(UInt16.max) else { return nil }
        return UInt16(value)
    }

    private static func port(inCharacters text: some StringProtocol) throws(FTPProtocolError) -> UInt16 {
        guard let open = text.firstIndex(of: "(") else {
            throw FTPProtocolError(.malformedExtendedPassiveReply, input: text)
        }
        let inside = text[text.index(after: open)...].prefix { $0 != ")" }
        guard let delimiter = inside.first, inside.count >= 5 else {
            throw FTPProtocolError(.malformedExtendedPassiveReply, input: text)
        }
        let fields = inside.split(separator: delimiter, omittingEmptySubsequences: false)
        // "|||6446|" splits into "", "", "", "6446", "".
        guard fields.count == 5, fields[0].isEmpty, fields[1].isEmpty, fields[2].isEmpty, fields[4].isEmpty,
            (1...5).contains(fields[3].count), fields[3].allSatisfy(\.isASCIIDigit),
            let port = UInt16(fields[3]), port > 0
        else {
            throw FTPProtocolError(.malformedExtendedPassiveReply, input: text)
        }
        return port
    }
}
