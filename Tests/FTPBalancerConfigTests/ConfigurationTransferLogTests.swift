import Testing

@testable import FTPBalancerConfig

@Suite("The transfer_log section")
struct ConfigurationTransferLogTests {
    static func file(_ section: String) -> String {
        """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            servers: [10.0.2.11]
        \(section)
        """
    }

    func error(_ section: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: Self.file(section), file: "ftplb.yaml")
        }
    }

    @Test("Without the section no transfer log is written.")
    func absent() throws {
        #expect(try ConfigurationLoader.parse(yaml: Self.file(""), file: nil).transferLog == nil)
    }

    @Test("A path alone gives the xferlog format.")
    func pathAlone() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: Self.file("transfer_log: {path: /var/log/ftplb/xferlog}"),
            file: nil
        )
        #expect(configuration.transferLog == TransferLogConfiguration(path: "/var/log/ftplb/xferlog", format: .xferlog))
        #expect(configuration.summary.contains("transfer log: /var/log/ftplb/xferlog (xferlog)"))
    }

    @Test("format: json is taken.")
    func json() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: Self.file("transfer_log:\n  path: /tmp/t.jsonl\n  format: json"),
            file: nil
        )
        #expect(configuration.transferLog?.format == .json)
    }

    @Test("A section without path is refused at the section's line.")
    func missingPath() {
        let error = self.error("transfer_log:\n  format: json")
        #expect(error?.code == .missingKey)
        #expect(error?.path == "transfer_log.path")
        #expect(error?.line == 7)
    }

    @Test("A relative path is refused at its line, with an example.")
    func relativePath() {
        let error = self.error("transfer_log:\n  path: xferlog")
        #expect(error?.code == .invalidValue)
        #expect(error?.line == 7)
        #expect(error?.message.contains("absolute") == true)
    }

    @Test("An unknown format names the allowed ones.")
    func unknownFormat() {
        let error = self.error("transfer_log:\n  path: /tmp/x\n  format: csv")
        #expect(error?.path == "transfer_log.format")
        #expect(error?.line == 8)
        #expect(error?.message.contains("xferlog, json") == true)
    }

    @Test("An unknown key in the section is refused.")
    func unknownKey() {
        #expect(self.error("transfer_log: {path: /tmp/x, rotate: daily}")?.code == .unknownKey)
    }

    @Test("The run flags are checked like the section, and name the flag.")
    func flags() throws {
        #expect(
            try ConfigurationLoader.transferLogFlags(path: "/tmp/x", format: "json")
                == TransferLogConfiguration(path: "/tmp/x", format: .json)
        )
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.transferLogFlags(path: "x", format: nil) }
        do {
            _ = try ConfigurationLoader.transferLogFlags(path: "/tmp/x", format: "csv")
        } catch {
            #expect(error.path == "--transfer-log-format")
        }
    }
}
