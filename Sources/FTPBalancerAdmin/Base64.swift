/// Base64 (RFC 4648, standard alphabet) decoding for HTTP Basic credentials: the only place the
/// admin API meets it, so a small strict decoder rather than a dependency.
enum Base64 {
    /// Credentials are a user name and a token of at most 256 characters: anything much longer
    /// is not a credential and is refused before decoding.
    static let inputLimit = 1024

    /// The bytes `text` encodes; nil for a character outside the alphabet, misplaced padding, a
    /// length that is not a whole number of groups, or more than `inputLimit` characters.
    static func decode<Text: Collection<UInt8>>(_ text: Text) -> [UInt8]? {
        guard text.count <= Self.inputLimit, text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var group: UInt32 = 0
        var count = 0
        var padding = 0
        for character in text {
            let value: UInt32
            if character == UInt8(ascii: "=") {
                padding += 1
                value = 0
            } else {
                // Data after padding is malformed.
                guard padding == 0, let digit = Self.digit(character) else { return nil }
                value = digit
            }
            group = group << 6 | value
            count += 1
            if count == 4 {
                guard padding <= 2 else { return nil }
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                if padding < 2 { output.append(UInt8(truncatingIfNeeded: group >> 8)) }
                if padding < 1 { output.append(UInt8(truncatingIfNeeded: group)) }
                group = 0
                count = 0
            }
        }
        return output
    }

    private static func digit(_ character: UInt8) -> UInt32? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): return 62
        case UInt8(ascii: "/"): return 63
        default: return nil
        }
    }
}
