extension ConfigurationValueParser {
    /// The largest whole number a configuration value may hold: `integer` reads at most 9 digits.
    static let largestWholeNumber = 999_999_999
    /// The longest greeting or 421 text: a reply line that still fits a terminal and a log line.
    static let replyTextLimit = 200
    /// Health checks closer together than this would load the servers more than they tell.
    static let shortestHealthCheckInterval = Duration.milliseconds(100)

    /// One of the words an enumeration is spelled with in the YAML file.
    static func choice<Value: RawRepresentable & CaseIterable>(
        _ text: String,
        among cases: Value.AllCases = Value.allCases
    ) throws(ValueProblem) -> Value where Value.RawValue == String {
        guard let value = cases.first(where: { $0.rawValue == text }) else {
            let names = cases.map(\.rawValue).joined(separator: ", ")
            throw ValueProblem("expected one of \(names); found '\(text)'")
        }
        return value
    }

    static func clientAddress(_ text: String) throws(ValueProblem) -> ClientAddressMode {
        try Self.choice(text)
    }

    static func algorithm(_ text: String) throws(ValueProblem) -> BalancingAlgorithm {
        try Self.choice(text)
    }

    static func serverState(_ text: String) throws(ValueProblem) -> ServerAdminState {
        try Self.choice(text)
    }

    static func healthCheckKind(_ text: String) throws(ValueProblem) -> HealthCheckKind {
        try Self.choice(text)
    }

    static func transferMode(_ text: String) throws(ValueProblem) -> HealthCheckTransferMode {
        try Self.choice(text)
    }

    /// `true` or `false`, nothing else: YAML 1.1 also reads yes, no, on and off as booleans,
    /// and a reader who sees `backup: no` should not have to know which YAML this is.
    static func boolean(_ text: String) throws(ValueProblem) -> Bool {
        switch text {
        case "true": return true
        case "false": return false
        default:
            throw ValueProblem("expected true or false (yes, no, on and off are not accepted); found '\(text)'")
        }
    }

    /// A whole number in decimal within `range`; an upper bound of `largestWholeNumber` is not
    /// worth mentioning unless the value goes past it.
    static func wholeNumber(_ text: String, in range: ClosedRange<Int>) throws(ValueProblem) -> Int {
        if let value = Self.integer(text[...], in: range) {
            return value
        }
        guard range.upperBound == Self.largestWholeNumber else {
            throw ValueProblem(
                "expected a whole number from \(range.lowerBound) to \(range.upperBound); found '\(text)'"
            )
        }
        let digitsOnly = !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        let tooLarge = digitsOnly && text.utf8.count > 9
        throw ValueProblem(
            "expected a whole number of at least \(range.lowerBound)"
                + (tooLarge ? " and at most \(Self.largestWholeNumber)" : "") + "; found '\(text)'"
        )
    }

    /// The text of a reply line the balancer sends (a greeting, a 421): one line of printable
    /// text, so that it can neither end the reply early nor smuggle in a second one.
    static func replyText(_ text: String) throws(ValueProblem) -> String {
        let expected = "expected one line of printable text of 1 to \(Self.replyTextLimit) characters"
        if let problem = Self.lineProblem(text, breaking: "the reply") {
            throw ValueProblem("\(expected); \(problem)")
        }
        guard text.count <= Self.replyTextLimit else {
            throw ValueProblem("\(expected); found \(text.count) characters")
        }
        return text
    }

    /// An argument of an FTP command the balancer sends (USER, PASS, RETR of a health check).
    /// The text is never repeated in the message: it may be a password.
    static func commandArgument(_ text: String) throws(ValueProblem) -> String {
        if let problem = Self.lineProblem(text, breaking: "the FTP command") {
            throw ValueProblem("expected text without control characters; \(problem)")
        }
        return text
    }

    /// Why `text` cannot go on one FTP line, without quoting it; nil when it can.
    private static func lineProblem(_ text: String, breaking what: String) -> String? {
        guard !text.isEmpty else {
            return "found an empty text"
        }
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator:
                let code = String(scalar.value, radix: 16, uppercase: true)
                let padded = String(repeating: "0", count: max(0, 4 - code.count)) + code
                return "character \(offset + 1) is a control character (U+\(padded)), which would break \(what)"
            default:
                continue
            }
        }
        return nil
    }

    /// A server's share of sessions relative to the others: 1 to 1000.
    static func weight(_ text: String) throws(ValueProblem) -> Int {
        try Self.wholeNumber(text, in: 1...1000)
    }

    /// A limit on concurrent sessions: at least 1 (leaving the key out means no limit).
    static func sessionCount(_ text: String) throws(ValueProblem) -> Int {
        try Self.wholeNumber(text, in: 1...Self.largestWholeNumber)
    }

    /// How many checks in a row turn a server up (rise) or down (fall): 1 to 100.
    static func checkCount(_ text: String) throws(ValueProblem) -> Int {
        try Self.wholeNumber(text, in: 1...100)
    }

    /// A file size in bytes, zero included.
    static func byteCount(_ text: String) throws(ValueProblem) -> Int {
        try Self.wholeNumber(text, in: 0...Self.largestWholeNumber)
    }

    /// The time between two health checks of a server: a duration of at least 100ms.
    static func healthCheckInterval(_ text: String) throws(ValueProblem) -> Duration {
        let interval = try Self.duration(text)
        guard interval >= Self.shortestHealthCheckInterval else {
            throw ValueProblem("expected at least 100ms between two checks of a server; found '\(text)'")
        }
        return interval
    }

    /// A user name of the `per_user` map: what USER carries, so no spaces or control characters.
    static func userName(_ text: String) throws(ValueProblem) -> String {
        do {
            return try Self.name(text)
        } catch {
            throw ValueProblem("expected a user name without spaces or control characters; found '\(text)'")
        }
    }
}

extension ConfigurationValueParser {
    /// The routing tables Linux itself uses: `default`, `main` and `local`.
    static let reservedRouteTables: Set<Int> = [253, 254, 255]

    /// A packet mark: `0x` and up to 8 hex digits, or decimal; never 0, which marks nothing.
    static func fwmark(_ text: String) throws(ValueProblem) -> UInt32 {
        let problem = ValueProblem("expected a packet mark from 1 to 0xffffffff, in hex (0x1) or decimal; found '\(text)'")
        let hex = text.hasPrefix("0x") || text.hasPrefix("0X")
        let digits = hex ? text.dropFirst(2) : text[...]
        // UInt32(_:radix:) alone would also take a sign.
        let allowed = hex ? "0123456789abcdefABCDEF" : "0123456789"
        guard (1...10).contains(digits.count), digits.allSatisfy(allowed.contains) else {
            throw problem
        }
        let value = UInt32(digits, radix: hex ? 16 : 10)
        guard let value, value != 0 else {
            throw problem
        }
        return value
    }

    /// A routing table number for `ip rule ... lookup N`, not one Linux uses itself.
    static func routeTable(_ text: String) throws(ValueProblem) -> Int {
        guard let value = Self.integer(text[...], in: 1...Self.largestWholeNumber), !Self.reservedRouteTables.contains(value) else {
            throw ValueProblem(
                "expected a routing table number from 1 to \(Self.largestWholeNumber), other than 253, 254 and 255 "
                    + "(default, main and local); found '\(text)'"
            )
        }
        return value
    }
}
