import Testing

@testable import FTPBalancerConfig

@Suite("Every error of a file in one run")
struct ConfigurationAllErrorsTests {
    @Test("Errors in several sections and services are all reported, in file order, one line each.")
    func severalErrors() {
        let error = configurationError(
            """
            log_lvl: info
            shutdown_grace: soon
            virtual_services:
              - name: a
                listen: 10.0.0.1:99999
                passive_ports: 40000-40099
                servers: [10.0.2.11]
              - name: b
                listen: 10.0.0.2:21
                passive_ports: 40000-30099
                servers: [10.0.2.11]
            data_path: {relay: fast}
            """
        )
        let all = error.map { [$0] + $0.others } ?? []
        #expect(all.map(\.path) == [
            "log_lvl", "shutdown_grace", "virtual_services[0].listen", "virtual_services[1].passive_ports",
            "data_path.relay",
        ])
        #expect(all.map(\.line) == [1, 2, 5, 10, 12])
        #expect(error?.description.split(separator: "\n").count == 5)
        #expect(error?.code == .unknownKey)
    }

    @Test("Checks across services run only once every service reads: no error about a service that had one.")
    func crossChecksNeedEveryService() {
        let error = configurationError(
            """
            virtual_services:
              - name: a
                listen: 10.0.0.1:21
                passive_ports: 40000-40099
                servers: [10.0.2.11]
              - name: a
                listen: 10.0.0.1:bad
                passive_ports: 40000-40099
                servers: [10.0.2.11]
            """
        )
        #expect(error?.others == [])
        #expect(error?.path == "virtual_services[1].listen")
    }

    @Test("A tab in the indentation says that YAML allows none.")
    func tabIndentation() {
        let error = configurationError("virtual_services:\n  - name: a\n\tlisten: 10.0.0.1:21\n")
        #expect(error?.code == .yamlSyntax)
        #expect(error?.line == 3)
        #expect(error?.message.hasSuffix("tabs are not allowed for indentation in YAML: indent with spaces") == true)
    }

    @Test("check-config's summary names the data path, with its defaults.")
    func summaryNamesTheDataPath() throws {
        let yaml = """
            data_path: {pipe_size: 256KiB, threads: 2}
            virtual_services:
              - name: a
                listen: 10.0.0.1:21
                passive_ports: 40000-40099
                servers: [10.0.2.11]
            """
        let summary = try ConfigurationLoader.parse(yaml: yaml, file: nil).summary
        #expect(summary.contains("data path: splice, 256KiB pipe per direction, 2 relay threads"))
        let copy = try ConfigurationLoader.parse(yaml: yaml.replacingOccurrences(of: "pipe_size: 256KiB, threads: 2", with: "relay: copy"), file: nil)
        #expect(copy.summary.contains("data path: copy (through SwiftNIO's buffers)"))
    }
}
