extension ConfigurationLoader {
    static let transferLogKeys = ["path", "format"]

    /// The `transfer_log` section: `path` (required) and `format` (xferlog, the default, or json).
    static func transferLog(_ node: ConfigurationNode?) throws(ConfigurationError) -> TransferLogConfiguration? {
        guard let node else {
            return nil
        }
        let fields = try node.mapping(allowedKeys: Self.transferLogKeys)
        let path = try fields.required("path").value(ConfigurationValueParser.logFilePath)
        let format = try fields.optional("format", ConfigurationValueParser.transferLogFormat) ?? .xferlog
        return TransferLogConfiguration(path: path, format: format)
    }
}

extension ConfigurationValueParser {
    /// An absolute file path: a relative one would depend on where the balancer was started.
    static func logFilePath(_ text: String) throws(ValueProblem) -> String {
        guard text.hasPrefix("/") else {
            throw ValueProblem("expected an absolute file path such as /var/log/ftplb/xferlog; found '\(text)'")
        }
        guard !text.hasSuffix("/"), !text.utf8.contains(0) else {
            throw ValueProblem("expected a file path, not a directory; found '\(text)'")
        }
        return text
    }

    static func transferLogFormat(_ text: String) throws(ValueProblem) -> TransferLogFormat {
        try Self.choice(text)
    }
}

extension ConfigurationLoader {
    /// `ftplb run --transfer-log FILE [--transfer-log-format FORMAT]`, checked as the file's
    /// `transfer_log` section is.
    package static func transferLogFlags(
        path: String,
        format: String?
    ) throws(ConfigurationError) -> TransferLogConfiguration {
        let parsedPath: String
        do {
            parsedPath = try ConfigurationValueParser.logFilePath(path)
        } catch {
            throw ConfigurationLocation.flag("--transfer-log").error(.invalidValue, error.message)
        }
        var configuration = TransferLogConfiguration(path: parsedPath)
        if let format {
            do {
                configuration.format = try ConfigurationValueParser.transferLogFormat(format)
            } catch {
                throw ConfigurationLocation.flag("--transfer-log-format").error(.invalidValue, error.message)
            }
        }
        return configuration
    }
}
