extension ConfigurationLoader {
    static let dataPathKeys = ["relay", "pipe_size", "threads"]

    /// The `data_path` section: `relay` (splice or copy), `pipe_size`, `threads`.
    static func dataPath(_ node: ConfigurationNode?) throws(ConfigurationError) -> DataPathConfiguration {
        var dataPath = DataPathConfiguration()
        guard let node else {
            return dataPath
        }
        let fields = try node.mapping(allowedKeys: Self.dataPathKeys)
        dataPath.relay = try fields.optional("relay", ConfigurationValueParser.relay) ?? dataPath.relay
        dataPath.pipeSize = try fields.optional("pipe_size", ConfigurationValueParser.pipeSize) ?? dataPath.pipeSize
        dataPath.threads = try fields.optional("threads", ConfigurationValueParser.relayThreads) ?? dataPath.threads
        return dataPath
    }
}

extension ConfigurationValueParser {
    static func relay(_ text: String) throws(ValueProblem) -> DataPathConfiguration.Relay {
        try Self.choice(text)
    }

    /// Bytes, or KiB/MiB: a power of two the kernel can give a pipe, from one page to 1 GiB.
    /// Beyond /proc/sys/fs/pipe-max-size only a privileged process gets it; the balancer then
    /// falls back to the default size and says so when it starts relaying.
    static func pipeSize(_ text: String) throws(ValueProblem) -> Int {
        let range = DataPathConfiguration.pipeSizes
        let expected =
            "expected a power of two from \(range.lowerBound) to \(range.upperBound) bytes (or 4KiB to 1024MiB)"
        var digits = text[...]
        var unit = 1
        for (suffix, multiplier) in [("KiB", 1 << 10), ("MiB", 1 << 20)] where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            unit = multiplier
        }
        // Ten digits at most, enough for 1 GiB in bytes; no sign, no separators.
        guard (1...10).contains(digits.utf8.count), digits.utf8.allSatisfy({ (48...57).contains($0) }),
            let count = Int(digits), count <= range.upperBound / unit
        else {
            throw ValueProblem("\(expected); found '\(text)'")
        }
        let size = count * unit
        guard range.contains(size), size & (size - 1) == 0 else {
            throw ValueProblem("\(expected); found '\(text)'")
        }
        return size
    }

    static func relayThreads(_ text: String) throws(ValueProblem) -> Int {
        let range = DataPathConfiguration.threadCounts
        guard let count = Self.integer(text[...], in: range) else {
            throw ValueProblem("expected \(range.lowerBound) or \(range.upperBound) threads; found '\(text)'")
        }
        return count
    }
}
