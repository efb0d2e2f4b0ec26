/// Everything that can be wrong with a configuration, from an unreadable file to two virtual
/// services fighting over a passive port: one error that tells the operator where to look
/// (file, line, column, YAML path or command-line flag) and what to change.
package struct ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of mistake, for code that reacts to it; people read `message`.
    package enum Code: String, Equatable, Sendable {
        /// The file could not be opened, read, or decoded as UTF-8.
        case fileUnreadable
        /// The text is not well-formed YAML.
        case yamlSyntax
        /// A mapping has a key that `ftplb` does not know.
        case unknownKey
        /// A required key or flag is absent.
        case missingKey
        /// A value has the wrong shape or is out of range.
        case invalidValue
        /// A value that must be unique (name, listen address, server, passive port) is used twice.
        case duplicate
    }

    package var code: Code
    /// The configuration file; nil for the quick command-line form or text parsed from memory.
    package var file: String?
    /// 1-based line of the offending node, when it is known.
    package var line: Int?
    /// 1-based column of the offending node, counted in Unicode scalars, when it is known.
    package var column: Int?
    /// Where the value sits: a YAML path such as `virtual_services[0].passive_ports`, or a flag
    /// such as `--passive-ports`; empty for the document as a whole.
    package var path: String
    package var message: String
    /// Further errors found in the same file, in the order they were met: `check-config`
    /// reports them all in one run.
    package var others: [ConfigurationError] = []

    package init(
        code: Code,
        file: String? = nil,
        line: Int? = nil,
        column: Int? = nil,
        path: String,
        message: String
    ) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// `FILE:LINE:COLUMN: PATH: message`, leaving out the parts that are not known; one line
    /// per error when there are several.
    package var description: String {
        ([self] + self.others).map(\.located).joined(separator: "\n")
    }

    /// This error alone, on one line: `FILE:LINE:COLUMN: PATH: message`.
    package var located: String {
        var position: [String] = []
        if let file = self.file {
            position.append(file)
        }
        if let line = self.line {
            position.append(String(line))
            if let column = self.column {
                position.append(String(column))
            }
        }
        var parts: [String] = []
        if !position.isEmpty {
            parts.append(position.joined(separator: ":"))
        }
        if !self.path.isEmpty {
            parts.append(self.path)
        }
        parts.append(self.message)
        return parts.joined(separator: ": ")
    }
}
