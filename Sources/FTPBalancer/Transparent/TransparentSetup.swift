import FTPBalancerConfig

/// The host plumbing `client_address: transparent` needs, as the commands that build it.
///
/// Upstream connections leave from the client's address, so the servers' answers are addressed
/// to the client and reach this host only because it is their gateway. Without help the kernel
/// would forward them. The nftables `socket` match marks every packet that belongs to one of
/// this host's transparent sockets, and the policy route for that mark delivers it locally.
/// That covers the servers' active-mode connections too: a transparent listener on the client's
/// address and port catches the server's SYN. Nothing else is marked, so other traffic between
/// clients and servers (SSH, say) is forwarded as before.
package struct TransparentSetup: Equatable, Sendable {
    package static let nftTable = "ftplb"
    package static let nftChain = "prerouting"

    package enum Family: String, Sendable {
        case ipv4, ipv6

        var ipFlag: [String] { self == .ipv6 ? ["-6"] : [] }
        var everywhere: String { self == .ipv6 ? "::/0" : "0.0.0.0/0" }
        var forwardingSetting: String { self == .ipv6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward" }
    }

    /// One thing that must be in place, with the commands that put it there.
    package struct Step: Equatable, Sendable {
        package enum Kind: Equatable, Sendable {
            /// `ip rule`: packets with the mark are routed by the table.
            case markRule(Family)
            /// `ip route`: the table's one route delivers everything locally.
            case localRoute(Family)
            /// The nftables table whose rules set the mark.
            case markingRules
            /// Forwarding, for the traffic between clients and servers the balancer does not
            /// handle. FTP works without it.
            case forwarding(Family)
        }

        package var kind: Kind
        /// Why the step exists, printed as a comment above its commands.
        package var purpose: String
        /// Each command as arguments for exec, without a shell.
        package var commands: [[String]]

        /// False for steps that FTP itself does not need.
        package var isRequired: Bool {
            if case .forwarding = self.kind { return false }
            return true
        }

        /// The commands as an operator would type them in a shell.
        package var shellCommands: [String] {
            self.commands.map { $0.map(TransparentSetup.shellQuoted).joined(separator: " ") }
        }
    }

    package var fwmark: UInt32
    package var routeTable: Int
    /// IPv4 always; IPv6 too when a transparent service listens on or reaches IPv6.
    package var families: [Family]
    package var steps: [Step]

    /// The steps for the transparent services of `configuration`; none when it has none.
    package init(for configuration: BalancerConfiguration) {
        self.fwmark = configuration.transparent.fwmark
        self.routeTable = configuration.transparent.routeTable
        self.families = []
        self.steps = []
        let services = configuration.transparentServices
        guard !services.isEmpty else { return }
        self.families = [.ipv4]
        let reachesIPv6 = services.contains { service in
            service.servers.contains(where: \.address.isIPv6) || service.listeners.contains(where: \.endpoint.isIPv6)
        }
        if reachesIPv6 {
            self.families.append(.ipv6)
        }
        let families = self.families
        let mark = self.markText
        let table = String(self.routeTable)
        for family in families {
            self.steps.append(
                Step(
                    kind: .markRule(family),
                    purpose: "route packets marked \(mark) by table \(table)",
                    commands: [["ip"] + family.ipFlag + ["rule", "add", "fwmark", mark, "lookup", table]]
                )
            )
            self.steps.append(
                Step(
                    kind: .localRoute(family),
                    purpose: "table \(table) delivers every packet to this host",
                    commands: [["ip"] + family.ipFlag + ["route", "replace", "local", family.everywhere, "dev", "lo", "table", table]]
                )
            )
        }
        let nft = ["nft"]
        let chain = [Self.nftTable, Self.nftChain]
        let tcpToTransparent = ["meta", "l4proto", "tcp", "socket", "transparent", "1"]
        self.steps.append(
            Step(
                kind: .markingRules,
                purpose: "mark the packets of ftplb's transparent sockets, and only those",
                commands: [
                    nft + ["add", "table", "inet", Self.nftTable],
                    nft + ["flush", "table", "inet", Self.nftTable],
                    nft + ["add", "chain", "inet"] + chain
                        + ["{ type filter hook prerouting priority mangle; policy accept; }"],
                    // A transparent socket bound to a wildcard address would otherwise divert
                    // routed traffic to any address on its port.
                    nft + ["add", "rule", "inet"] + chain + tcpToTransparent + ["socket", "wildcard", "1", "accept"],
                    nft + ["add", "rule", "inet"] + chain + tcpToTransparent + ["meta", "mark", "set", mark],
                ]
            )
        )
        for family in families {
            self.steps.append(
                Step(
                    kind: .forwarding(family),
                    purpose: "keep routing the other traffic between clients and servers",
                    commands: [["sysctl", "-w", "\(family.forwardingSetting)=1"]]
                )
            )
        }
    }

    package var markText: String { "0x" + String(self.fwmark, radix: 16) }

    /// The whole setup as a shell script.
    package var script: String {
        var lines = ["# ftplb transparent mode: fwmark \(self.markText), route table \(self.routeTable)"]
        for step in self.steps {
            lines.append("# \(step.purpose)\(step.isRequired ? "" : " (not needed by FTP itself)")")
            lines.append(contentsOf: step.shellCommands)
        }
        return lines.joined(separator: "\n")
    }

    /// `word` as a shell reads it back: quoted only when it has to be.
    static func shellQuoted(_ word: String) -> String {
        let plain = word.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "-_./:=,@%+".utf8.contains(byte)
            }
        }
        if plain && !word.isEmpty { return word }
        return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        self.split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
