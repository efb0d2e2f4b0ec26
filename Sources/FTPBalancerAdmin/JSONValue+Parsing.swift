/// Why a JSON text was refused, with the byte offset where reading stopped.
package struct JSONParseError: Error, Equatable, CustomStringConvertible {
    package var offset: Int
    package var reason: String

    package var description: String { "invalid JSON at byte \(self.offset): \(self.reason)" }
}

extension JSONValue {
    /// Documents larger than this are refused before reading: an admin answer with a million
    /// sessions is still far below it.
    package static let parseSizeLimit = 64 << 20
    /// Nesting deeper than this is refused, so a hostile text cannot exhaust the stack.
    package static let parseDepthLimit = 64

    /// Reads one JSON document (RFC 8259) from `bytes`; nothing but whitespace may follow it.
    package init(parsing bytes: some Collection<UInt8>) throws(JSONParseError) {
        guard bytes.count <= Self.parseSizeLimit else {
            throw JSONParseError(offset: 0, reason: "larger than \(Self.parseSizeLimit) bytes")
        }
        var reader = JSONReader(bytes: Array(bytes))
        self = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.atEnd else { throw reader.error("unexpected text after the document") }
    }

    package init(parsing text: String) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8))
    }
}

private struct JSONReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { self.offset >= self.bytes.count }

    func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: self.offset, reason: reason)
    }

    mutating func skipWhitespace() {
        while !self.atEnd, [0x20, 0x09, 0x0A, 0x0D].contains(self.bytes[self.offset]) {
            self.offset += 1
        }
    }

    mutating func expect(_ literal: String, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let expected = Array(literal.utf8)
        guard self.bytes.count - self.offset >= expected.count,
            Array(self.bytes[self.offset..<self.offset + expected.count]) == expected
        else { throw self.error("expected \(literal)") }
        self.offset += expected.count
        return value
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < JSONValue.parseDepthLimit else {
            throw self.error("nested deeper than \(JSONValue.parseDepthLimit)")
        }
        self.skipWhitespace()
        guard !self.atEnd else { throw self.error("unexpected end") }
        switch self.bytes[self.offset] {
        case UInt8(ascii: "n"): return try self.expect("null", .null)
        case UInt8(ascii: "t"): return try self.expect("true", .bool(true))
        case UInt8(ascii: "f"): return try self.expect("false", .bool(false))
        case UInt8(ascii: "\""): return .string(try self.string())
        case UInt8(ascii: "["): return try self.array(depth: depth)
        case UInt8(ascii: "{"): return try self.object(depth: depth)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.number()
        default: throw self.error("unexpected character")
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        self.offset += 1
        var items: [JSONValue] = []
        self.skipWhitespace()
        if !self.atEnd, self.bytes[self.offset] == UInt8(ascii: "]") {
            self.offset += 1
            return .array(items)
        }
        while true {
            items.append(try self.value(depth: depth + 1))
            self.skipWhitespace()
            guard !self.atEnd else { throw self.error("unexpected end in an array") }
            let byte = self.bytes[self.offset]
            self.offset += 1
            if byte == UInt8(ascii: "]") { return .array(items) }
            guard byte == UInt8(ascii: ",") else { throw self.error("expected , or ] in an array") }
        }
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        self.offset += 1
        var fields: [JSONField] = []
        self.skipWhitespace()
        if !self.atEnd, self.bytes[self.offset] == UInt8(ascii: "}") {
            self.offset += 1
            return .object(fields)
        }
        while true {
            self.skipWhitespace()
            guard !self.atEnd, self.bytes[self.offset] == UInt8(ascii: "\"") else { throw self.error("expected a key") }
            let key = try self.string()
            self.skipWhitespace()
            guard !self.atEnd, self.bytes[self.offset] == UInt8(ascii: ":") else { throw self.error("expected :") }
            self.offset += 1
            fields.append(JSONField(key: key, value: try self.value(depth: depth + 1)))
            self.skipWhitespace()
            guard !self.atEnd else { throw self.error("unexpected end in an object") }
            let byte = self.bytes[self.offset]
            self.offset += 1
            if byte == UInt8(ascii: "}") { return .object(fields) }
            guard byte == UInt8(ascii: ",") else { throw self.error("expected , or } in an object") }
        }
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = self.offset
        var isInteger = true
        while !self.atEnd {
            let byte = self.bytes[self.offset]
            if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+")
            {
                isInteger = false
            } else if !(byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)) {
                break
            }
            self.offset += 1
        }
        let text = String(decoding: self.bytes[start..<self.offset], as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        // Double(_:) also takes forms JSON does not ("1." or ".5" cannot reach here: the first
        // byte was a digit or '-'); good enough for reading our own answers.
        guard let value = Double(text), value.isFinite else {
            self.offset = start
            throw self.error("malformed number")
        }
        return .number(value)
    }

    mutating func string() throws(JSONParseError) -> String {
        self.offset += 1
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run.removeAll(keepingCapacity: true)
        }
        while true {
            guard !self.atEnd else { throw self.error("unterminated string") }
            let byte = self.bytes[self.offset]
            self.offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                scalars.append(try self.escape())
            case 0..<0x20:
                throw self.error("control character in a string")
            default:
                run.append(byte)
            }
        }
    }

    mutating func escape() throws(JSONParseError) -> Unicode.Scalar {
        guard !self.atEnd else { throw self.error("unterminated escape") }
        let byte = self.bytes[self.offset]
        self.offset += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try self.hex4()
            guard (0xD800..<0xDC00).contains(high) else {
                guard let scalar = Unicode.Scalar(high) else { throw self.error("lone low surrogate") }
                return scalar
            }
            guard self.bytes.count - self.offset >= 6, self.bytes[self.offset] == UInt8(ascii: "\\"),
                self.bytes[self.offset + 1] == UInt8(ascii: "u")
            else { throw self.error("lone high surrogate") }
            self.offset += 2
            let low = try self.hex4()
            guard (0xDC00..<0xE000).contains(low),
                let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
            else { throw self.error("invalid surrogate pair") }
            return scalar
        default:
            throw self.error("unknown escape")
        }
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard self.bytes.count - self.offset >= 4,
            let value = UInt32(String(decoding: self.bytes[self.offset..<self.offset + 4], as: UTF8.self), radix: 16)
        else { throw self.error("expected four hex digits") }
        self.offset += 4
        return value
    }
}
