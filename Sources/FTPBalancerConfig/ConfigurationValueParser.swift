import FTPProtocol

/// Why a single value was refused. It does not know where the value came from: the YAML walker
/// or the quick-form builder adds that when it turns this into a `ConfigurationError`.
struct ValueProblem: Error {
    var message: String

    init(_ message: String) {
        self.message = message
    }
}

/// The text forms of configuration values, shared by the YAML file and the command-line flags
/// so that both accept the same things and explain a refusal in the same words.
enum ConfigurationValueParser {
    static let defaultPort = 21

    /// `ADDRESS[:PORT]`: an IPv4 literal, or an IPv6 literal in brackets; the port defaults to 21.
    static func endpoint(_ text: String) throws(ValueProblem) -> (endpoint: Endpoint, address: IPAddress) {
        let expected = "expected ADDRESS[:PORT] such as 10.0.0.1:21 or [2001:db8::1]:21"
        let hostText: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ValueProblem("'\(text)' has no closing ']'; \(expected)")
            }
            hostText = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                portText = nil
            } else if rest.first == ":" {
                portText = rest.dropFirst()
            } else {
                throw ValueProblem("unexpected '\(rest)' after ']' in '\(text)'; \(expected)")
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw ValueProblem("write an IPv6 address in brackets, as [2001:db8::1]:21; found '\(text)'")
            }
            hostText = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard let address = IPAddress(String(hostText)) else {
            throw ValueProblem("'\(hostText)' is not an IP address (host names are not accepted); \(expected)")
        }
        guard (address.family == .v6) == text.hasPrefix("[") else {
            throw ValueProblem("brackets are for IPv6 addresses only; \(expected); found '\(text)'")
        }
        var port = Self.defaultPort
        if let portText {
            guard let value = Self.integer(portText, in: 1...65535) else {
                throw ValueProblem("port '\(portText)' is not a number from 1 to 65535 in '\(text)'")
            }
            port = value
        }
        return (Endpoint(host: address.text, port: port), address)
    }

    /// A bare IPv4 or IPv6 literal, without brackets or port.
    static func ipAddress(_ text: String) throws(ValueProblem) -> IPAddress {
        let bracketed = text.hasPrefix("[") && text.hasSuffix("]") && text.count >= 2
        let bare = bracketed ? String(text.dropFirst().dropLast()) : text
        guard let address = IPAddress(bare), !bracketed || address.family == .v6 else {
            throw ValueProblem(
                "expected an IP address such as 10.0.0.1 or 2001:db8::1 (host names are not accepted); found '\(text)'"
            )
        }
        return address
    }

    /// `FIRST-LAST` with 1024 <= FIRST <= LAST <= 65535: passive ports are never privileged.
    static func portRange(_ text: String) throws(ValueProblem) -> ClosedRange<Int> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let first = Self.integer(parts[0], in: 0...65535),
            let last = Self.integer(parts[1], in: 0...65535),
            1024 <= first, first <= last
        else {
            throw ValueProblem(
                "expected FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, such as 40000-40999; found '\(text)'"
            )
        }
        return first...last
    }

    /// A port number within `range`, in decimal.
    static func port(_ text: String, in range: ClosedRange<Int>) throws(ValueProblem) -> Int {
        guard let value = Self.integer(text[...], in: range) else {
            throw ValueProblem(
                "expected a port number from \(range.lowerBound) to \(range.upperBound); found '\(text)'"
            )
        }
        return value
    }

    /// A number of seconds, or a number followed by `ms`, `s`, `m` or `h`; greater than zero.
    static func duration(_ text: String) throws(ValueProblem) -> Duration {
        guard let duration = Self.durationValue(text), duration > .zero else {
            throw ValueProblem(
                "expected a duration greater than zero: a number of seconds, or a number followed by "
                    + "ms, s, m or h, such as 500ms, 30s or 5m; found '\(text)'"
            )
        }
        return duration
    }

    /// Like `duration`, but zero is allowed: for a wait that may be skipped.
    static func durationOrZero(_ text: String) throws(ValueProblem) -> Duration {
        guard let duration = Self.durationValue(text) else {
            throw ValueProblem(
                "expected a duration: a number of seconds, or a number followed by ms, s, m or h, "
                    + "such as 0s, 30s or 5m; found '\(text)'"
            )
        }
        return duration
    }

    /// The duration `text` spells, zero included; nil when it is malformed.
    private static func durationValue(_ text: String) -> Duration? {
        let units: [(suffix: String, nanoseconds: Int64)] = [
            ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
        ]
        var number = Substring(text)
        var unit: Int64 = 1_000_000_000
        if let match = units.first(where: { text.hasSuffix($0.suffix) }) {
            number = number.dropLast(match.suffix.count)
            unit = match.nanoseconds
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
            let whole = Self.integer(parts[0], in: 0...999_999_999),
            parts.count == 1 || (1...9).contains(parts[1].count),
            let fraction = parts.count == 2 ? Self.integer(parts[1], in: 0...999_999_999) : 0
        else {
            return nil
        }
        var scale = 1
        for _ in 0..<(parts.count == 2 ? parts[1].count : 0) {
            scale *= 10
        }
        return Duration.nanoseconds(unit) * whole + Duration.nanoseconds(unit) * fraction / scale
    }

    static func logLevel(_ text: String) throws(ValueProblem) -> LogLevel {
        try Self.choice(text)
    }

    /// A name for logs and metrics: not empty, and no spaces or control characters that would
    /// make a log line ambiguous.
    static func name(_ text: String) throws(ValueProblem) -> String {
        guard !text.isEmpty,
            !text.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw ValueProblem("expected a name without spaces or control characters; found '\(text)'")
        }
        return text
    }

    /// Decimal digits only, at most 9 of them (no sign, no `0x`, no `_`), within `range`.
    static func integer(_ text: Substring, in range: ClosedRange<Int>) -> Int? {
        guard (1...9).contains(text.utf8.count),
            text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            return nil
        }
        let value = text.utf8.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return range.contains(value) ? value : nil
    }
}
