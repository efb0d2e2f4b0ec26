/// What the host has of the transparent setup, read from the same tools that build it: the
/// output of `ip rule show`, `ip route show table N` and `nft list table inet ftplb`, and the
/// forwarding switches. Parsing is kept apart from running the tools so that it can be tested
/// on captured output.
package struct TransparentHostState: Sendable {
    package var rules: [TransparentSetup.Family: String] = [:]
    package var routes: [TransparentSetup.Family: String] = [:]
    /// Nil when the table does not exist.
    package var nftTable: String?
    package var forwarding: [TransparentSetup.Family: Bool] = [:]

    package init() {}

    /// The steps of `setup` that are not in place.
    package func missing(_ setup: TransparentSetup) -> [TransparentSetup.Step] {
        setup.steps.filter { !self.has($0, of: setup) }
    }

    package func has(_ step: TransparentSetup.Step, of setup: TransparentSetup) -> Bool {
        switch step.kind {
        case .markRule(let family):
            return Self.hasMarkRule(self.rules[family] ?? "", mark: setup.fwmark, table: setup.routeTable)
        case .localRoute(let family):
            return Self.hasLocalRoute(self.routes[family] ?? "")
        case .markingRules:
            return self.nftTable.map { Self.hasMarkingRules($0, mark: setup.fwmark) } ?? false
        case .forwarding(let family):
            return self.forwarding[family] ?? false
        }
    }

    /// A line of `ip rule show` such as `32765:\tfrom all fwmark 0x1 lookup 100`. A mask that
    /// keeps every bit of the mark (`0x1/0x1`) counts too.
    static func hasMarkRule(_ output: String, mark: UInt32, table: Int) -> Bool {
        output.split(separator: "\n").contains { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let markIndex = words.firstIndex(of: "fwmark"), markIndex + 1 < words.count,
                let lookupIndex = words.firstIndex(where: { $0 == "lookup" || $0 == "table" }), lookupIndex + 1 < words.count,
                words[lookupIndex + 1] == String(table)
            else { return false }
            let parts = words[markIndex + 1].split(separator: "/")
            guard let value = parts.first.flatMap(Self.number), value == mark else { return false }
            if parts.count == 2 {
                guard let mask = Self.number(parts[1]), mask & mark == mark else { return false }
            }
            return true
        }
    }

    /// `local default dev lo scope host`, as `ip route show table N` prints the route.
    static func hasLocalRoute(_ output: String) -> Bool {
        output.split(separator: "\n").contains { line in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == "local", ["default", "0.0.0.0/0", "::/0"].contains(words[1]) else {
                return false
            }
            return zip(words, words.dropFirst()).contains { $0 == "dev" && $1 == "lo" }
        }
    }

    /// A prerouting chain whose rule sets the mark on `socket transparent 1`, as nft lists it:
    /// `meta l4proto tcp socket transparent 1 meta mark set 0x00000001`.
    static func hasMarkingRules(_ listing: String, mark: UInt32) -> Bool {
        guard listing.contains("hook prerouting") else { return false }
        return listing.split(separator: "\n").contains { line in
            guard line.contains("socket transparent 1"), let range = line.range(of: "mark set ") else { return false }
            let value = line[range.upperBound...].split(separator: " ").first.flatMap(Self.number)
            return value == mark
        }
    }

    /// `0x1`, `0x00000001` or `1`.
    static func number(_ text: Substring) -> UInt32? {
        if text.hasPrefix("0x") {
            return UInt32(text.dropFirst(2), radix: 16)
        }
        return UInt32(text)
    }
}

extension TransparentHostState {
    /// Reads the host's state with `ip`, `nft` and /proc. A tool that cannot run leaves its
    /// part empty, so the steps it would show are reported missing; `problems` says why.
    package static func read(for setup: TransparentSetup) -> (state: TransparentHostState, problems: [String]) {
        var state = TransparentHostState()
        var problems: [String] = []
        func output(_ argv: [String]) -> String? {
            switch HostCommand.run(argv) {
            case .success(let result) where result.status == 0:
                return result.output
            case .success:
                return nil
            case .failure(let error):
                problems.append(error.description)
                return nil
            }
        }
        for family in setup.families {
            let flag = family == .ipv6 ? "-6" : "-4"
            state.rules[family] = output(["ip", flag, "rule", "show"]) ?? ""
            state.routes[family] = output(["ip", flag, "route", "show", "table", String(setup.routeTable)]) ?? ""
            let path = "/proc/sys/" + family.forwardingSetting.split(separator: ".").joined(separator: "/")
            state.forwarding[family] = HostCommand.readFile(path)?.hasPrefix("1") ?? false
        }
        if !setup.families.isEmpty {
            // nft exits 1 when the table does not exist: that is a missing step, not a problem.
            state.nftTable = output(["nft", "list", "table", "inet", TransparentSetup.nftTable])
        }
        return (state, problems)
    }
}
