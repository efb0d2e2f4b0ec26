import NIOCore

/// Replaces an IP address written in a reply's text (a server naming itself in a banner or a
/// STAT reply) so that no server address reaches the client.
package enum AddressScrubber {
    /// Replaces whole occurrences of `address` in `line`: `10.0.2.1` is not found inside
    /// `10.0.2.11`. Bytes that are not part of a match are copied unchanged.
    package static func replace(_ address: String, with replacement: String, in line: ByteBuffer) -> ByteBuffer {
        let needle = Array(address.utf8)
        let bytes = line.readableBytesView
        guard !needle.isEmpty, bytes.count >= needle.count else { return line }
        var output: ByteBuffer?
        var copiedUpTo = bytes.startIndex
        var index = bytes.startIndex
        while index <= bytes.endIndex - needle.count {
            if bytes[index] == needle[0], bytes[index..<index + needle.count].elementsEqual(needle),
                !Self.isAddressByte(before: index, in: bytes), !Self.isAddressByte(at: index + needle.count, in: bytes)
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

    private static func isAddressByte(before index: Int, in bytes: ByteBufferView) -> Bool {
        index > bytes.startIndex && Self.isAddressByte(at: index - 1, in: bytes)
    }

    private static func isAddressByte(at index: Int, in bytes: ByteBufferView) -> Bool {
        guard index < bytes.endIndex else { return false }
        let byte = bytes[index]
        return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) || byte == UInt8(ascii: ":")
    }
}
