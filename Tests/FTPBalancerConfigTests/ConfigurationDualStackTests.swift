import FTPProtocol
import Testing

@testable import FTPBalancerConfig

@Suite("Dual-stack listeners and data_transfer_policy")
struct ConfigurationDualStackTests {
    private func parse(_ yaml: String) throws -> VirtualServiceConfiguration {
        try #require(try ConfigurationLoader.parse(yaml: yaml, file: "ftplb.yaml").virtualServices.first)
    }

    private func error(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: yaml, file: "ftplb.yaml")
        }
    }

    @Test("A listen list gives one service a listener per address, each advertising its own address.")
    func listenList() throws {
        let service = try self.parse(
            """
            virtual_services:
              - name: ftp
                listen: [10.0.0.1:21, "[2001:db8::10]:21"]
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(
            service.listeners == [
                ListenerConfiguration(endpoint: Endpoint(host: "10.0.0.1", port: 21), advertisedAddress: "10.0.0.1"),
                ListenerConfiguration(
                    endpoint: Endpoint(host: "2001:db8::10", port: 21),
                    advertisedAddress: "2001:db8::10"
                ),
            ]
        )
        #expect(service.dataTransferPolicy == .client)
        #expect(service.advertisedAddress(forLocalHost: "2001:db8::10", port: 21) == "2001:db8::10")
        #expect(service.advertisedAddress(forLocalHost: "10.0.0.1", port: 21) == "10.0.0.1")
    }

    @Test("Wildcard listeners take the advertise entry of their family.")
    func advertisePerFamily() throws {
        let service = try self.parse(
            """
            virtual_services:
              - name: ftp
                listen: [0.0.0.0:21, "[::]:21"]
                advertise: [192.0.2.10, "2001:db8::10"]
                passive_ports: 40000-40999
                servers: ["[2001:db8:2::11]", 10.0.2.11]
                data_transfer_policy: passive
            """
        )
        #expect(service.listeners.map(\.advertisedAddress) == ["192.0.2.10", "2001:db8::10"])
        #expect(service.advertisedAddress(forLocalHost: "2001:db8::10", port: 21) == "2001:db8::10")
        #expect(service.advertisedAddress(forLocalHost: "192.0.2.10", port: 21) == "192.0.2.10")
        #expect(service.dataTransferPolicy == .passive)
    }

    @Test("Two advertised addresses of one family are refused.")
    func twoAdvertiseOfOneFamily() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: [0.0.0.0:21, "[::]:21"]
                advertise: [192.0.2.10, 192.0.2.11]
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.message == "two IPv4 addresses; give at most one per address family")
    }

    @Test("An advertised address of a family no listener has is refused.")
    func advertiseOfAnotherFamily() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: [10.0.0.1:21, 10.0.0.2:21]
                advertise: "2001:db8::10"
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(
            error?.message
                == "2001:db8::10 is IPv6 but listen 10.0.0.1:21, 10.0.0.2:21 is of another family; both must be of the same family"
        )
    }

    @Test("A wildcard listener of a list without an advertise entry of its family is refused.")
    func wildcardWithoutAdvertise() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: [10.0.0.1:21, "[::]:21"]
                advertise: 10.0.0.1
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .missingKey)
        #expect(error?.message.hasPrefix("required because listen [::]:21 is a wildcard address") == true)
    }

    @Test("One address twice in a listen list clashes with itself, on its own line.")
    func duplicateListen() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen:
                  - 10.0.0.1:21
                  - 10.0.0.1:21
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.path == "virtual_services[0].listen[1]")
        #expect(error?.line == 5)
    }

    @Test("An empty listen list is refused.")
    func emptyListen() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: []
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.message == "expected a listen address, or a list of them; found an empty list")
    }

    @Test("data_transfer_policy pasv or port is refused for a pool with an IPv6 server, naming that server.")
    func ipv4OnlyPolicyWithIPv6Server() {
        for (policy, instead) in [("pasv", "epsv or passive"), ("port", "eprt or active")] {
            let error = self.error(
                """
                virtual_services:
                  - name: ftp
                    listen: "[2001:db8::10]:21"
                    passive_ports: 40000-40999
                    servers: [10.0.2.11, "[2001:db8:2::11]:21"]
                    data_transfer_policy: \(policy)
                """
            )
            #expect(error?.path == "virtual_services[0].servers[1]")
            #expect(
                error?.message
                    == "server [2001:db8:2::11]:21 is IPv6, but data_transfer_policy \(policy) can only name IPv4 "
                    + "addresses; use \(instead) instead"
            )
        }
    }

    @Test("An unknown data_transfer_policy lists the words it takes.")
    func unknownPolicy() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 10.0.0.1:21
                passive_ports: 40000-40999
                servers: [10.0.2.11]
                data_transfer_policy: lprt
            """
        )
        #expect(error?.message == "expected one of client, passive, active, pasv, epsv, port, eprt; found 'lprt'")
    }

    @Test("Passive ranges of two services overlap when they share any advertised address.")
    func passivePortsOverlapOnASharedFamily() {
        let error = self.error(
            """
            virtual_services:
              - name: a
                listen: [10.0.0.1:21, "[2001:db8::10]:21"]
                passive_ports: 40000-40999
                servers: [10.0.2.11]
              - name: b
                listen: "[2001:db8::10]:2121"
                passive_ports: 40500-41000
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.message.contains("on the same advertised address 2001:db8::10") == true)
    }

    @Test("check-config lists every listener and advertised address, and a policy other than client.")
    func summary() throws {
        let service = try self.parse(
            """
            virtual_services:
              - name: ftp
                listen: [10.0.0.1:21, "[2001:db8::10]:21"]
                passive_ports: 40000-40999
                servers: [10.0.2.11]
                data_transfer_policy: active
            """
        )
        #expect(service.summaryLines.contains("  listen:             10.0.0.1:21, [2001:db8::10]:21"))
        #expect(service.summaryLines.contains("  advertise:          10.0.0.1, 2001:db8::10"))
        #expect(service.summaryLines.contains("  data transfer:      active (what the servers get)"))
    }
}

@Suite("The advertised address of a one-listener service")
struct SingleListenerAdvertisedAddressTests {
    @Test("A service with one listener advertises its address whatever local address and port a client reached.")
    func oneListenerAdvertisesItsAddressForEveryLocalAddress() {
        let service = VirtualServiceConfiguration(
            name: "ftp",
            listen: Endpoint(host: "0.0.0.0", port: 21),
            advertisedAddress: "192.0.2.10",
            passivePorts: 40000...40999,
            servers: []
        )
        #expect(service.advertisedAddress(forLocalHost: "10.0.0.1", port: 21) == "192.0.2.10")
        #expect(service.advertisedAddress(forLocalHost: "2001:db8::10", port: 21) == "192.0.2.10")
        #expect(service.advertisedAddress(forLocalHost: "10.0.0.1", port: 2121) == "192.0.2.10")
    }
}
