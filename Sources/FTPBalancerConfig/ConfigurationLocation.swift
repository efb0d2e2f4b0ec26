/// Where a configuration value came from, a node of a YAML file or a command-line flag, so that
/// checks made long after reading it can still point the operator at it.
struct ConfigurationLocation: Sendable {
    var file: String?
    var line: Int?
    var column: Int?
    /// The YAML path, or the flag name for the quick command-line form.
    var path: String

    init(file: String? = nil, line: Int? = nil, column: Int? = nil, path: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
    }

    /// The location of a command-line flag: it has no file and no line.
    static func flag(_ name: String) -> ConfigurationLocation {
        ConfigurationLocation(path: name)
    }

    /// The last component of the path, as the operator wrote it: `listen` or `--listen`.
    var key: String {
        guard let dot = self.path.lastIndex(of: ".") else {
            return self.path
        }
        return String(self.path[self.path.index(after: dot)...])
    }

    /// How another error refers to this place: `virtual_services[0].name (line 3)`, or the flag.
    var reference: String {
        guard let line = self.line else {
            return self.path
        }
        return "\(self.path) (line \(line))"
    }

    /// The same place with another path, for a key that is missing from the mapping here.
    func replacingPath(_ path: String) -> ConfigurationLocation {
        var location = self
        location.path = path
        return location
    }

    /// The place of `key` inside the mapping here. A flag has no inside: a value it implies is
    /// reported against the flag itself.
    func child(_ key: String) -> ConfigurationLocation {
        guard self.line != nil || !self.path.hasPrefix("--") else {
            return self
        }
        return self.replacingPath(self.path.isEmpty ? key : "\(self.path).\(key)")
    }

    func error(_ code: ConfigurationError.Code, _ message: String) -> ConfigurationError {
        ConfigurationError(
            code: code,
            file: self.file,
            line: self.line,
            column: self.column,
            path: self.path,
            message: message
        )
    }
}
