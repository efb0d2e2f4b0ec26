import Testing

@testable import FTPBalancerConfig

@Suite("Errors in configuration files")
struct ConfigurationLoaderErrorTests {
    /// The error that parsing `yaml` as `ftplb.yaml` throws; fails the test if it parses.
    func error(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        configurationError(yaml, sourceLocation: sourceLocation)
    }

    @Test("A bad passive range names its line, column and path.")
    func badPassiveRange() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 10.0.0.1:21
                servers: [10.0.2.11]
                passive_ports: 40999-40000
            """
        )
        #expect(error?.code == .invalidValue)
        #expect(error?.line == 5)
        #expect(
            error?.description
                == "ftplb.yaml:5:20: virtual_services[0].passive_ports: expected FIRST-LAST with "
                + "1024 <= FIRST <= LAST <= 65535, such as 40000-40999; found '40999-40000'"
        )
    }

    @Test("An unknown key is named with its path and the list of allowed keys.")
    func unknownKey() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 10.0.0.1:21
                passive_port: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .unknownKey)
        #expect(error?.line == 4)
        #expect(error?.path == "virtual_services[0].passive_port")
        #expect(
            error?.message
                == "unknown key 'passive_port'; allowed keys: name, listen, advertise, passive_ports, "
                + "source_address, active_source_port, servers, timeouts, algorithm, unavailable_message, limits, "
                + "health_check, per_user, client_address, listen_freebind, data_transfer_policy, greeting, tls, server_tls"
        )
    }

    @Test("An unknown key at the top level is refused too.")
    func unknownTopLevelKey() {
        let error = self.error("log_level: info\nlisten: 10.0.0.1\n")
        #expect(error?.description.hasPrefix("ftplb.yaml:2:1: listen: unknown key 'listen'") == true)
    }

    @Test("A missing required key is reported at the line of its mapping.")
    func missingKey() {
        let error = self.error(
            """
            log_level: info
            virtual_services:
              - name: ftp
                listen: 10.0.0.1:21
                passive_ports: 40000-40999
            """
        )
        #expect(error?.code == .missingKey)
        #expect(error?.line == 3)
        #expect(error?.path == "virtual_services[0].servers")
    }

    @Test("A wildcard listen address without an advertised address is refused at the listen line.")
    func wildcardWithoutAdvertise() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 0.0.0.0:21
                passive_ports: 40000-40999
                servers: [10.0.2.11]
            """
        )
        #expect(error?.code == .missingKey)
        #expect(error?.line == 3)
        #expect(error?.path == "virtual_services[0].advertise")
        #expect(error?.message.contains("listen 0.0.0.0:21 is a wildcard address") == true)
    }

    @Test("An advertised address that is a wildcard, or of the other family, is refused.")
    func badAdvertise() {
        let wildcard = self.error(
            "virtual_services:\n  - {name: a, listen: '[::]', advertise: '::', passive_ports: 40000-40001, servers: ['[::1]']}"
        )
        #expect(wildcard?.code == .invalidValue)
        #expect(wildcard?.message.contains(":: is a wildcard address") == true)
        let family = self.error(
            "virtual_services:\n  - {name: a, listen: 0.0.0.0, advertise: '2001:db8::1', passive_ports: 40000-40001, servers: [10.0.2.11]}"
        )
        #expect(family?.path == "virtual_services[0].advertise")
        #expect(family?.message.contains("2001:db8::1 is IPv6 but listen 0.0.0.0:21 is IPv4") == true)
    }

    @Test("Overlapping passive ranges on one advertised address name the second range and the first.")
    func overlappingPassivePorts() {
        let error = self.error(
            """
            virtual_services:
              - name: a
                listen: 10.0.0.1:21
                passive_ports: 40000-40999
                servers: [10.0.2.11]
              - name: b
                listen: 10.0.0.1:2121
                passive_ports: 40999-41999
                servers: [10.0.2.12]
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.line == 8)
        #expect(error?.path == "virtual_services[1].passive_ports")
        #expect(
            error?.message
                == "passive ports 40999-41999 overlap 40000-40999 of virtual service 'a' on the same advertised "
                + "address 10.0.0.1; first at virtual_services[0].passive_ports (line 4)"
        )
    }

    @Test("Two virtual services with the same name are refused at the second name.")
    func duplicateNames() {
        let error = self.error(
            """
            virtual_services:
              - {name: ftp, listen: 10.0.0.1, passive_ports: 40000-40999, servers: [10.0.2.11]}
              - {name: ftp, listen: 10.0.0.2, passive_ports: 40000-40999, servers: [10.0.2.11]}
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.line == 3)
        #expect(error?.path == "virtual_services[1].name")
    }

    @Test("A wildcard listener clashes with a specific address on the same port.")
    func duplicateListen() {
        let error = self.error(
            """
            virtual_services:
              - {name: a, listen: 10.0.0.1, passive_ports: 40000-40999, servers: [10.0.2.11]}
              - {name: b, listen: '0.0.0.0:21', advertise: 10.0.0.2, passive_ports: 41000-41999, servers: [10.0.2.11]}
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.path == "virtual_services[1].listen")
        #expect(error?.message.hasPrefix("0.0.0.0:21 clashes with 10.0.0.1:21 of virtual service 'a'") == true)
    }

    @Test("The same server written twice, with and without the default port, is a duplicate.")
    func duplicateServer() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 10.0.0.1
                passive_ports: 40000-40999
                servers:
                  - 10.0.2.11
                  - address: 10.0.2.11:21
            """
        )
        #expect(error?.code == .duplicate)
        #expect(error?.line == 7)
        #expect(error?.path == "virtual_services[0].servers[1]")
    }

    @Test("A server map without an address, or with a host name, names the server's path.")
    func badServerForms() {
        let missing = self.error(
            "virtual_services:\n  - {name: a, listen: 10.0.0.1, passive_ports: 40000-40001, servers: [{name: x}]}"
        )
        #expect(missing?.code == .missingKey)
        #expect(missing?.path == "virtual_services[0].servers[0].address")
        let hostName = self.error(
            "virtual_services:\n  - {name: a, listen: 10.0.0.1, passive_ports: 40000-40001, servers: [ftp.example.com:21]}"
        )
        #expect(hostName?.path == "virtual_services[0].servers[0]")
        #expect(hostName?.message.hasPrefix("'ftp.example.com' is not an IP address") == true)
    }

    @Test("A zero or malformed duration names its timeout key.")
    func badDuration() {
        let error = self.error(
            """
            virtual_services:
              - name: ftp
                listen: 10.0.0.1
                passive_ports: 40000-40999
                servers: [10.0.2.11]
                timeouts:
                  data_idle: 0s
            """
        )
        #expect(error?.line == 7)
        #expect(error?.path == "virtual_services[0].timeouts.data_idle")
        #expect(error?.message.hasPrefix("expected a duration greater than zero") == true)
    }

    @Test("A YAML syntax error keeps the line where the parser stopped.")
    func syntaxError() {
        let error = self.error("virtual_services:\n  - name: ftp\n    listen: [10.0.0.1\n")
        #expect(error?.code == .yamlSyntax)
        #expect(error?.line == 4)
        #expect(error?.description.hasPrefix("ftplb.yaml:4:") == true)
    }

    @Test("A key written twice in one mapping is a duplicate with its line.")
    func duplicateKey() {
        let error = self.error("log_level: info\nlog_level: debug\nvirtual_services: []\n")
        #expect(error?.code == .duplicate)
        #expect(error?.line == 1)
        #expect(error?.message == "key 'log_level' appears more than once in the same mapping")
    }

    @Test("An unquoted bracketed IPv6 endpoint gets a hint to quote it, whether YAML reads it as a list or fails.")
    func unquotedIPv6() {
        let syntax = self.error(
            "virtual_services:\n  - name: a\n    listen: [::1]:21\n    passive_ports: 40000-40001\n    servers: ['[::1]']\n"
        )
        #expect(syntax?.code == .yamlSyntax)
        #expect(syntax?.line == 3)
        #expect(syntax?.message.hasSuffix("if this is an IPv6 endpoint, put it in quotes, as \"[::1]:21\"") == true)
        let list = self.error(
            "virtual_services:\n  - name: a\n    listen: [2001:db8::1]\n    passive_ports: 40000-40001\n    servers: ['[::1]']\n"
        )
        #expect(list?.path == "virtual_services[0].listen")
        #expect(list?.message.hasSuffix("if this is an IPv6 endpoint, put it in quotes, as \"[::1]:21\"") == true)
    }

    @Test("An empty file, an empty service list and a non-mapping document are each refused.")
    func emptyConfigurations() {
        #expect(self.error("")?.code == .missingKey)
        #expect(
            self.error("virtual_services: []")?.description
                == "ftplb.yaml:1:19: virtual_services: at least one virtual service is required"
        )
        #expect(self.error("- a\n")?.message == "expected a mapping of keys, found a list")
    }
}
