import FTPBalancer

/// A JSON document, small and ordered: what the admin API sends and the `ftplb` command reads.
/// Written by hand rather than with Foundation's coders, which no other part of ftplb uses;
/// objects keep their keys in order, so answers read the same every time.
package indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONField])

    /// An object from a literal, keys in the order written.
    package static func object(_ fields: KeyValuePairs<String, JSONValue>) -> JSONValue {
        .object(fields.map { JSONField(key: $0.key, value: $0.value) })
    }

    /// `.string`, or `.null` for nil.
    package static func string(_ text: String?) -> JSONValue {
        text.map { .string($0) } ?? .null
    }

    /// `.integer`, or `.null` for nil.
    package static func integer(_ value: Int?) -> JSONValue {
        value.map { .integer($0) } ?? .null
    }

    package subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.key == key }?.value
    }

    package var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    package var intValue: Int? {
        switch self {
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 1e15: return Int(value)
        default: return nil
        }
    }

    package var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    package var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    package var arrayValue: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    package var fields: [JSONField]? {
        guard case .object(let fields) = self else { return nil }
        return fields
    }
}

/// One key and value of a JSON object.
package struct JSONField: Equatable, Sendable {
    package var key: String
    package var value: JSONValue

    package init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

// MARK: Writing

extension JSONValue {
    /// The document indented by two spaces per level, ending in a newline: read by people with
    /// curl as often as by scripts.
    package var prettyText: String {
        var text = ""
        self.write(into: &text, indent: 0)
        text += "\n"
        return text
    }

    private func write(into text: inout String, indent: Int) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        // JSON has no infinity or NaN.
        case .number(let value): text += value.isFinite ? "\(value)" : "null"
        case .string(let value): Self.writeString(value, into: &text)
        case .array(let items):
            guard !items.isEmpty else {
                text += "[]"
                return
            }
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += String(repeating: " ", count: indent + 2)
                item.write(into: &text, indent: indent + 2)
                text += index == items.count - 1 ? "\n" : ",\n"
            }
            text += String(repeating: " ", count: indent) + "]"
        case .object(let fields):
            guard !fields.isEmpty else {
                text += "{}"
                return
            }
            text += "{\n"
            for (index, field) in fields.enumerated() {
                text += String(repeating: " ", count: indent + 2)
                Self.writeString(field.key, into: &text)
                text += ": "
                field.value.write(into: &text, indent: indent + 2)
                text += index == fields.count - 1 ? "\n" : ",\n"
            }
            text += String(repeating: " ", count: indent) + "}"
        }
    }

    /// The transfer log's escaping, so that both write strings alike.
    private static func writeString(_ value: String, into text: inout String) {
        JSONLineObject.quote(value, into: &text)
    }
}
