import FTPBalancerConfig
import Testing

@testable import FTPBalancer

@Suite("Transparent mode: the host setup as commands, and reading it back")
struct TransparentSetupTests {
    static func configuration(
        clientAddress: ClientAddressMode = .transparent,
        servers: [String] = ["10.0.2.11"],
        transparent: TransparentConfiguration = TransparentConfiguration()
    ) -> BalancerConfiguration {
        let service = VirtualServiceConfiguration(
            name: "ftp",
            listen: Endpoint(host: "10.0.0.1", port: 21),
            advertisedAddress: "10.0.0.1",
            passivePorts: 40000...40999,
            servers: servers.map { ServerConfiguration(name: $0, address: Endpoint(host: $0, port: 21)) },
            clientAddress: clientAddress
        )
        return BalancerConfiguration(virtualServices: [service], transparent: transparent)
    }

    @Test("The IPv4 script is exactly the commands an operator runs, in order.")
    func script() {
        let setup = TransparentSetup(for: Self.configuration())
        #expect(
            setup.script == """
                # ftplb transparent mode: fwmark 0x1, route table 100
                # route packets marked 0x1 by table 100
                ip rule add fwmark 0x1 lookup 100
                # table 100 delivers every packet to this host
                ip route replace local 0.0.0.0/0 dev lo table 100
                # mark the packets of ftplb's transparent sockets, and only those
                nft add table inet ftplb
                nft flush table inet ftplb
                nft add chain inet ftplb prerouting '{ type filter hook prerouting priority mangle; policy accept; }'
                nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 socket wildcard 1 accept
                nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 meta mark set 0x1
                # keep routing the other traffic between clients and servers (not needed by FTP itself)
                sysctl -w net.ipv4.ip_forward=1
                """
        )
        // Without a shell, the chain's specification is one argument.
        #expect(setup.steps[2].commands[2].last == "{ type filter hook prerouting priority mangle; policy accept; }")
    }

    @Test("Another mark and table, and IPv6 servers, change exactly the commands they concern.")
    func markTableAndIPv6() {
        let setup = TransparentSetup(
            for: Self.configuration(servers: ["2001:db8::11"], transparent: TransparentConfiguration(fwmark: 0x4000, routeTable: 4242))
        )
        let commands = setup.steps.flatMap(\.shellCommands)
        #expect(setup.families == [.ipv4, .ipv6])
        #expect(commands.contains("ip rule add fwmark 0x4000 lookup 4242"))
        #expect(commands.contains("ip -6 rule add fwmark 0x4000 lookup 4242"))
        #expect(commands.contains("ip -6 route replace local ::/0 dev lo table 4242"))
        #expect(commands.contains("nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 meta mark set 0x4000"))
        #expect(commands.contains("sysctl -w net.ipv6.conf.all.forwarding=1"))
        #expect(setup.steps.filter { !$0.isRequired }.count == 2)
    }

    @Test("An IPv6 listener in a listen list brings the ip -6 rules, with IPv4 servers only.")
    func dualStackListener() {
        var configuration = Self.configuration()
        configuration.virtualServices[0].otherListeners = [
            ListenerConfiguration(endpoint: Endpoint(host: "2001:db8::10", port: 21), advertisedAddress: "2001:db8::10")
        ]
        let setup = TransparentSetup(for: configuration)
        #expect(setup.families == [.ipv4, .ipv6])
        #expect(setup.steps.flatMap(\.shellCommands).contains("ip -6 rule add fwmark 0x1 lookup 100"))
    }

    @Test("A configuration without a transparent service needs nothing.")
    func nothingToDo() {
        let setup = TransparentSetup(for: Self.configuration(clientAddress: .proxyProtocolV2))
        #expect(setup.steps.isEmpty)
        #expect(setup.families.isEmpty)
        #expect(TransparentSetup(for: Self.configuration()).families == [.ipv4])
    }

    @Test("Words with shell syntax are quoted, plain ones are not.")
    func quoting() {
        #expect(TransparentSetup.shellQuoted("0.0.0.0/0") == "0.0.0.0/0")
        #expect(TransparentSetup.shellQuoted("a b;") == "'a b;'")
        #expect(TransparentSetup.shellQuoted("it's") == #"'it'\''s'"#)
        #expect(TransparentSetup.shellQuoted("") == "''")
    }

    // Output captured from iproute2 6.1 and nftables 1.0.6 after `ftplb setup-transparent --apply`.
    static let ruleOutput = "0:\tfrom all lookup local\n32765:\tfrom all fwmark 0x1 lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n"
    static let routeOutput = "local default dev lo scope host \n"
    static let nftOutput = """
        table inet ftplb {
        \tchain prerouting {
        \t\ttype filter hook prerouting priority mangle; policy accept;
        \t\tmeta l4proto tcp socket transparent 1 socket wildcard 1 accept
        \t\tmeta l4proto tcp socket transparent 1 meta mark set 0x00000001
        \t}
        }
        """

    @Test("The captured output of a complete setup has every step.")
    func complete() {
        let setup = TransparentSetup(for: Self.configuration())
        var state = TransparentHostState()
        state.rules[.ipv4] = Self.ruleOutput
        state.routes[.ipv4] = Self.routeOutput
        state.nftTable = Self.nftOutput
        state.forwarding[.ipv4] = true
        #expect(state.missing(setup).isEmpty)
        state.forwarding[.ipv4] = false
        #expect(state.missing(setup).map(\.kind) == [.forwarding(.ipv4)])
    }

    @Test("An empty host misses every step; a rule for another mark or table does not count.")
    func missingSteps() {
        let setup = TransparentSetup(for: Self.configuration())
        #expect(TransparentHostState().missing(setup).count == setup.steps.count)
        #expect(!TransparentHostState.hasMarkRule(Self.ruleOutput, mark: 0x2, table: 100))
        #expect(!TransparentHostState.hasMarkRule(Self.ruleOutput, mark: 0x1, table: 101))
        #expect(TransparentHostState.hasMarkRule("32765:\tfrom all fwmark 0x1/0x1 lookup 100\n", mark: 1, table: 100))
        #expect(!TransparentHostState.hasMarkRule("32765:\tfrom all fwmark 0x1/0x2 lookup 100\n", mark: 1, table: 100))
        #expect(!TransparentHostState.hasLocalRoute("unicast default via 10.0.0.1 dev eth0\n"))
        #expect(TransparentHostState.hasLocalRoute("local 0.0.0.0/0 dev lo scope host\n"))
        #expect(!TransparentHostState.hasMarkingRules(Self.nftOutput.replacingMark(), mark: 1))
        #expect(!TransparentHostState.hasMarkingRules("table inet ftplb {\n}\n", mark: 1))
    }
}

extension String {
    fileprivate func replacingMark() -> String {
        self.split(separator: "0x00000001").joined(separator: "0x00000002")
    }
}
