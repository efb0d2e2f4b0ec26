import Foundation
import Testing

@testable import FTPBalancerConfig

@Suite("Loading valid configuration files")
struct ConfigurationLoaderTests {
    static let fullFile = """
        log_level: debug
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            advertise: 192.0.2.10
            passive_ports: 40000-40999
            source_address: 10.0.2.1
            active_source_port: 0
            servers:
              - 10.0.2.11:21
              - name: ftp2
                address: 10.0.2.12:2121
            timeouts:
              server_connect: 2s
              passive_accept: 500ms
              active_connect: 45
              control_idle: 10m
              data_idle: 1h
              server_reply: 90s
          - name: ftp6
            listen: "[2001:db8::1]:2121"
            passive_ports: 41000-41999
            servers:
              - "[2001:db8::11]"
        """

    @Test("A file using every key becomes exactly the model it describes.")
    func fullFile() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.fullFile, file: "ftplb.yaml")
        var timeouts = TimeoutConfiguration()
        timeouts.serverConnect = .seconds(2)
        timeouts.passiveAccept = .milliseconds(500)
        timeouts.activeConnect = .seconds(45)
        timeouts.controlIdle = .seconds(600)
        timeouts.dataIdle = .seconds(3600)
        timeouts.serverReply = .seconds(90)
        let ftp = VirtualServiceConfiguration(
            name: "ftp",
            listen: Endpoint(host: "10.0.0.1", port: 21),
            advertisedAddress: "192.0.2.10",
            passivePorts: 40000...40999,
            sourceAddress: "10.0.2.1",
            activeSourcePort: 0,
            servers: [
                ServerConfiguration(name: "10.0.2.11:21", address: Endpoint(host: "10.0.2.11", port: 21)),
                ServerConfiguration(name: "ftp2", address: Endpoint(host: "10.0.2.12", port: 2121)),
            ],
            timeouts: timeouts
        )
        let ftp6 = VirtualServiceConfiguration(
            name: "ftp6",
            listen: Endpoint(host: "2001:db8::1", port: 2121),
            advertisedAddress: "2001:db8::1",
            passivePorts: 41000...41999,
            servers: [
                ServerConfiguration(name: "[2001:db8::11]", address: Endpoint(host: "2001:db8::11", port: 21))
            ]
        )
        #expect(configuration == BalancerConfiguration(logLevel: .debug, virtualServices: [ftp, ftp6]))
    }

    @Test("Leaving out every optional key gives the documented defaults.")
    func defaults() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: """
                virtual_services:
                  - name: ftp
                    listen: 10.0.0.1
                    passive_ports: 40000-40000
                    servers: [10.0.2.11]
                """,
            file: nil
        )
        #expect(configuration.logLevel == .info)
        let service = try #require(configuration.virtualServices.first)
        #expect(service.listen == Endpoint(host: "10.0.0.1", port: 21))
        #expect(service.advertisedAddress == "10.0.0.1")
        #expect(service.sourceAddress == nil)
        #expect(service.activeSourcePort == 20)
        #expect(
            service.servers == [ServerConfiguration(name: "10.0.2.11", address: Endpoint(host: "10.0.2.11", port: 21))]
        )
        #expect(service.timeouts == TimeoutConfiguration())
    }

    @Test("A wildcard listen address is accepted when an advertised address is given.")
    func wildcardListenWithAdvertise() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: """
                virtual_services:
                  - name: ftp
                    listen: 0.0.0.0:21
                    advertise: 192.0.2.10
                    passive_ports: 40000-40999
                    servers: [10.0.2.11]
                """,
            file: nil
        )
        #expect(configuration.virtualServices.first?.advertisedAddress == "192.0.2.10")
    }

    @Test("Equal passive ranges are fine on different advertised addresses.")
    func samePassivePortsOnDifferentAddresses() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: """
                virtual_services:
                  - {name: a, listen: 10.0.0.1, passive_ports: 40000-40999, servers: [10.0.2.11]}
                  - {name: b, listen: 10.0.0.2, passive_ports: 40000-40999, servers: [10.0.2.11]}
                """,
            file: nil
        )
        #expect(configuration.virtualServices.map(\.name) == ["a", "b"])
    }

    @Test("Loading from disk reads the file and names it in errors.")
    func loadFromDisk() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("ftplb-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.yaml")
        try Self.fullFile.write(to: good, atomically: true, encoding: .utf8)
        #expect(try ConfigurationLoader.load(path: good.path).virtualServices.count == 2)

        let bad = directory.appendingPathComponent("bad.yaml")
        try "log_level: loud\n".write(to: bad, atomically: true, encoding: .utf8)
        let error = #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(path: bad.path) }
        #expect(error?.description.hasPrefix("\(bad.path):1:12: log_level: expected one of trace") == true)
    }

    @Test("A missing file is reported as unreadable with the system's reason.")
    func missingFile() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(path: "/nonexistent/ftplb.yaml")
        }
        #expect(error?.code == .fileUnreadable)
        #expect(error?.description == "/nonexistent/ftplb.yaml: cannot read the file: No such file or directory")
    }

    @Test("The upgrade drain is ten minutes unless the file says otherwise; a malformed one names the key.")
    func upgradeDrain() throws {
        let unset = try ConfigurationLoader.parse(yaml: ConfigurationPoolTests.file(""), file: nil)
        #expect(unset.upgradeDrain == .seconds(600))
        let set = try ConfigurationLoader.parse(yaml: "upgrade_drain: 2m\n" + ConfigurationPoolTests.file(""), file: nil)
        #expect(set.upgradeDrain == .seconds(120))
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: "upgrade_drain: soon\n" + ConfigurationPoolTests.file(""), file: nil)
        }
        #expect(error?.path == "upgrade_drain")
        #expect(error?.line == 1)
    }

    @Test("The summary shows every service with its defaults filled in.")
    func summary() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.fullFile, file: nil)
        let lines = configuration.summary.split(separator: "\n").map(String.init)
        #expect(
            Array(lines.prefix(20)) == [
                "log level: debug",
                "shutdown grace: 30s",
                "upgrade drain: 600s",
                "admin API: 127.0.0.1:9021, token none (loopback only)",
                "data path: splice, 1MiB pipe per direction, 1 relay thread",
                "virtual service 'ftp'",
                "  listen:             10.0.0.1:21",
                "  advertise:          192.0.2.10",
                "  passive ports:      40000-40999 (1000 ports)",
                "  source address:     10.0.2.1",
                "  active source port: chosen by the kernel",
                "  client address:     not passed on (servers see the balancer)",
                "  algorithm:          round_robin",
                "  server:             10.0.2.11:21",
                "  server:             ftp2 (10.0.2.12:2121)",
                "  health check:       ftp, interval 5s, timeout 3s, rise 2, fall 3",
                "  limits:             unlimited",
                "  unavailable reply:  421 Service not available: no FTP server is reachable.",
                "  timeouts:           server_connect 2s, passive_accept 0.5s, active_connect 45s, "
                    + "control_idle 600s, data_idle 3600s, server_greeting 10s, login 60s, server_reply 90s",
                "virtual service 'ftp6'",
            ]
        )
        #expect(lines.contains("  listen:             [2001:db8::1]:2121"))
        #expect(lines.contains("  source address:     chosen by the kernel"))
    }
}
