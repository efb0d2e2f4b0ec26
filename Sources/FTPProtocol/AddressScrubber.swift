import NIOCore

/// Replaces an IP address written in a reply's text (a server naming itself in a banner or a
/// STAT reply) so that no server address reaches the client.
package enum AddressScrubber {
    /// Replaces whole occurrences of `address` in `line`: `10.0.2.1` is not found inside
    /// `10.0.2.11`. Bytes that are not part of a match are copied unchanged.
    package static func replace(_ address: String, with replacement: String, in line: ByteBuffer) -> ByteBuffer {
        // Nearly every line names no address: one plain scan settles those (and an empty
        // address, or a line shorter than it).
        guard Self.occurs(address, in: line) else { return line }
        let needle = Array(address.utf8)
        let bytes = line.readableBytesView
        let ipv6 = address.contains(":")
        var output: ByteBuffer?
        var copiedUpTo = bytes.startIndex
        var index = bytes.startIndex
        while index <= bytes.endIndex - needle.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle),
                !Self.continuesAddress(before: index, in: bytes, ipv6: ipv6),
                !Self.continuesAddress(at: index + needle.count, in: bytes, ipv6: ipv6)
            {
                if output == nil { output = ByteBuffer() }
                output!.writeBytes(bytes[copiedUpTo..<index])
                output!.writeString(replacement)
                index += needle.count
                copiedUpTo = index
            } else {
                index += 1
            }
        }
        guard var output else { return line }
        output.writeBytes(bytes[copiedUpTo...])
        return output
    }

    /// Whether `address` occurs anywhere in `line`, whole or as part of a longer address.
    private static func occurs(_ address: String, in line: ByteBuffer) -> Bool {
        var address = address
        return address.withUTF8 { needle in
            line.withUnsafeReadableBytes { bytes in
                guard let first = needle.first, bytes.count >= needle.count else { return false }
                for start in 0...(bytes.count - needle.count) where bytes[start] == first {
                    if UnsafeRawBufferPointer(rebasing: bytes[start..<start + needle.count]).elementsEqual(needle) {
                        return true
                    }
                }
                return false
            }
        }
    }

    /// Whether the byte before `index` continues an address, so a match there is only part of
    /// a longer one.
    private static func continuesAddress(before index: Int, in bytes: ByteBufferView, ipv6: Bool) -> Bool {
        guard index > bytes.startIndex else { return false }
        let byte = bytes[index - 1]
        if ipv6, Self.isIPv6Byte(byte) { return true }
        // "1.10.0.2.1" contains "10.0.2.1" but is another address.
        return Self.isDigit(byte) || (byte == UInt8(ascii: ".") && index - 2 >= bytes.startIndex && Self.isDigit(bytes[index - 2]))
    }

    /// Whether the byte at `index` continues an address. For IPv4 a colon does not: it starts a
    /// port, as in `10.0.2.11:21`.
    private static func continuesAddress(at index: Int, in bytes: ByteBufferView, ipv6: Bool) -> Bool {
        guard index < bytes.endIndex else { return false }
        let byte = bytes[index]
        if ipv6, Self.isIPv6Byte(byte) { return true }
        // A dot continues an address only before a digit: "fd00::1.2.3.4", but not the full stop
        // of "server fd00::1." or "server 10.0.2.1.".
        return Self.isDigit(byte) || (byte == UInt8(ascii: ".") && index + 1 < bytes.endIndex && Self.isDigit(bytes[index + 1]))
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isIPv6Byte(_ byte: UInt8) -> Bool {
        Self.isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) || byte == UInt8(ascii: ":")
    }
}
