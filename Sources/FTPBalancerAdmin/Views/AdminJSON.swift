import FoundationEssentials

/// How the admin API writes and reads its JSON, with Foundation's coders: keys sorted so that an
/// answer reads the same every time, slashes left as they are so that paths read as written.
/// Names are snake_case like the configuration file; byte counts are integers, ages and rates
/// plain numbers, absent values `null` where the API documents them (`Nullable`).
package enum AdminJSON {
    /// Answers larger than this are refused before decoding: one with a million sessions is
    /// still far below it.
    package static let sizeLimit = 64 << 20

    /// Indented, ending in a newline: read by people with curl as often as by scripts.
    package static func document(_ value: some Encodable) throws -> String {
        try Self.text(value, [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + "\n"
    }

    /// One line with no newline in it: an event of the trace stream, the answer of `/healthz`.
    package static func line(_ value: some Encodable) throws -> String {
        try Self.text(value, [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Reads one document. The caller bounds its size (the admin server's body limit, the
    /// client's `sizeLimit`); Foundation's decoder refuses nesting deeper than 512, so a hostile
    /// text cannot exhaust the stack.
    package static func decode<Value: Decodable>(_ type: Value.Type, from bytes: some Sequence<UInt8>) throws -> Value {
        try JSONDecoder().decode(type, from: Data(bytes))
    }

    private static func text(_ value: some Encodable, _ formatting: JSONEncoder.OutputFormatting) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// An optional field written as `null` when absent, where the API documents `null`: the coders
/// Swift synthesizes leave a nil field out. A missing key reads as nil too.
@propertyWrapper
package struct Nullable<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    package var wrappedValue: Value?

    package init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value = self.wrappedValue {
            try container.encode(value)
        } else {
            try container.encodeNil()
        }
    }
}

extension KeyedDecodingContainer {
    /// What synthesized decoding calls for a `Nullable` field: absent and `null` alike are nil.
    package func decode<Value>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try self.decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}
