import Yams

/// A YAML node with its path from the document root, so that every value read from it, and
/// every complaint about it, names the line, the column and the key.
struct ConfigurationNode {
    let node: Yams.Node
    /// `virtual_services[0].timeouts.data_idle`; empty for the document root.
    let path: String
    let file: String?

    init(node: Yams.Node, path: String, file: String?) {
        self.node = node
        self.path = path
        self.file = file
    }

    var location: ConfigurationLocation {
        ConfigurationLocation(
            file: self.file,
            line: self.node.mark?.line,
            column: self.node.mark?.column,
            path: self.path
        )
    }

    func error(_ code: ConfigurationError.Code, _ message: String) -> ConfigurationError {
        self.location.error(code, message)
    }

    /// An empty value, `~` or `null`, written without quotes.
    var isNull: Bool {
        guard case .scalar(let scalar) = self.node, scalar.style == .plain || scalar.style == .any else {
            return false
        }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// What the operator wrote here, in words, for "expected X, found Y".
    var kind: String {
        switch self.node {
        case .scalar: return self.isNull ? "nothing" : "a single value"
        case .mapping: return "a mapping of keys"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// The text of a scalar; a list or a mapping, or nothing at all, is an error here.
    func scalar() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = self.node, !self.isNull else {
            var message = "expected a single value, found \(self.kind)"
            if case .sequence = self.node {
                // `listen: [2001:db8::1]` is a YAML flow list, not an address.
                message += "; if this is an IPv6 endpoint, put it in quotes, as \"[::1]:21\""
            }
            throw self.error(.invalidValue, message)
        }
        return scalar.string
    }

    /// The scalar here, read by one of the `ConfigurationValueParser` functions.
    func value<T>(_ parse: (String) throws(ValueProblem) -> T) throws(ConfigurationError) -> T {
        let text = try self.scalar()
        do {
            return try parse(text)
        } catch {
            throw self.error(.invalidValue, error.message)
        }
    }

    /// The items of a list, each with its index in its path.
    func sequence() throws(ConfigurationError) -> [ConfigurationNode] {
        guard case .sequence(let sequence) = self.node else {
            throw self.error(.invalidValue, "expected a list, found \(self.kind)")
        }
        return sequence.enumerated().map { index, item in
            ConfigurationNode(node: item, path: "\(self.path)[\(index)]", file: self.file)
        }
    }

    /// The entries of a mapping whose keys must all be among `allowedKeys`.
    func mapping(allowedKeys: [String]) throws(ConfigurationError) -> Mapping {
        var problems = ConfigurationProblems()
        let mapping = try self.mapping(allowedKeys: allowedKeys, problems: &problems)
        try problems.check()
        return mapping
    }

    /// Like `mapping(allowedKeys:)`, but an unknown key is kept among `problems` and skipped,
    /// so that the rest of the mapping is still read.
    func mapping(allowedKeys: [String], problems: inout ConfigurationProblems) throws(ConfigurationError) -> Mapping {
        guard case .mapping(let mapping) = self.node else {
            throw self.error(.invalidValue, "expected a mapping of keys, found \(self.kind)")
        }
        var children: [String: ConfigurationNode] = [:]
        var keys: [String: ConfigurationLocation] = [:]
        for (keyNode, valueNode) in mapping {
            let keyPlace = ConfigurationNode(node: keyNode, path: self.path, file: self.file)
            guard case .scalar(let key) = keyNode else {
                throw keyPlace.error(.invalidValue, "expected a key, found \(keyPlace.kind)")
            }
            let childPath = self.childPath(key.string)
            guard allowedKeys.contains(key.string) else {
                problems.append(
                    keyPlace.location.replacingPath(childPath).error(
                        .unknownKey,
                        "unknown key '\(key.string)'; allowed keys: \(allowedKeys.joined(separator: ", "))"
                    )
                )
                continue
            }
            // Yams already refuses a key written twice in one mapping.
            children[key.string] = ConfigurationNode(node: valueNode, path: childPath, file: self.file)
            keys[key.string] = keyPlace.location.replacingPath(childPath)
        }
        return Mapping(owner: self, children: children, keys: keys)
    }

    /// The entries of a mapping whose keys are data rather than settings (user names, say), in
    /// the order written; each key is a scalar, and its node carries the entry's path.
    func entries() throws(ConfigurationError) -> [(key: ConfigurationNode, value: ConfigurationNode)] {
        guard case .mapping(let mapping) = self.node else {
            throw self.error(.invalidValue, "expected a mapping of keys, found \(self.kind)")
        }
        var entries: [(key: ConfigurationNode, value: ConfigurationNode)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let key) = keyNode else {
                let keyPlace = ConfigurationNode(node: keyNode, path: self.path, file: self.file)
                throw keyPlace.error(.invalidValue, "expected a key, found \(keyPlace.kind)")
            }
            let childPath = self.childPath(key.string)
            entries.append(
                (
                    key: ConfigurationNode(node: keyNode, path: childPath, file: self.file),
                    value: ConfigurationNode(node: valueNode, path: childPath, file: self.file)
                )
            )
        }
        return entries
    }

    func childPath(_ key: String) -> String {
        self.path.isEmpty ? key : "\(self.path).\(key)"
    }

    /// The checked entries of one YAML mapping.
    struct Mapping {
        let owner: ConfigurationNode
        let children: [String: ConfigurationNode]
        /// Where each key itself is written: a section's own line, where its value may start on
        /// the next one.
        let keys: [String: ConfigurationLocation]

        subscript(key: String) -> ConfigurationNode? {
            self.children[key]
        }

        /// Where `key` is, or would be: a missing key is reported on the line of its mapping.
        func location(of key: String) -> ConfigurationLocation {
            self.children[key]?.location ?? self.owner.location.replacingPath(self.owner.childPath(key))
        }

        /// Where `key` itself is written, for a complaint about a whole section.
        func keyLocation(of key: String) -> ConfigurationLocation {
            self.keys[key] ?? self.location(of: key)
        }

        func required(_ key: String) throws(ConfigurationError) -> ConfigurationNode {
            guard let child = self.children[key] else {
                throw self.location(of: key).error(.missingKey, "missing required key '\(key)'")
            }
            return child
        }

        /// The value of an optional key, read by `parse`; nil when the key is absent.
        func optional<T>(
            _ key: String,
            _ parse: (String) throws(ValueProblem) -> T
        ) throws(ConfigurationError) -> T? {
            guard let child = self.children[key] else {
                return nil
            }
            return try child.value(parse)
        }
    }
}
