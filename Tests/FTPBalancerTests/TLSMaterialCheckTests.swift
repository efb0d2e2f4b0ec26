import FTPBalancer
import FTPBalancerConfig
import Foundation
import Testing

/// `TLSMaterial.check`, which `check-config`, `run` and a reload share: problems as
/// configuration errors naming the key and the file.
@Suite("The TLS check of a whole configuration")
final class TLSMaterialCheckTests {
    let files: TLSTestFiles

    init() throws {
        self.files = try TLSTestFiles()
        for name in ["a", "b"] {
            try self.files.key("\(name).key")
            try self.files.selfSigned("\(name).pem", key: "\(name).key", san: "DNS:\(name).example.com")
        }
    }

    deinit {
        self.files.remove()
    }

    /// Two services; the second has a `tls` section holding `lines`.
    func configuration(_ lines: [String]) throws -> BalancerConfiguration {
        let yaml = """
            virtual_services:
              - name: plain
                listen: 10.0.0.1:21
                passive_ports: 40000-40999
                servers: [10.0.2.11]
              - name: ftps
                listen: 10.0.0.2:21
                passive_ports: 41000-41999
                servers: [10.0.2.11]
                tls:
            """ + lines.map { "\n      " + $0 }.joined()
        return try ConfigurationLoader.parse(yaml: yaml, file: "ftplb.yaml")
    }

    func check(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try TLSMaterial.check(try self.configuration(lines), file: "ftplb.yaml")
        }
    }

    @Test("Matching files pass without warnings, and a service without tls is not looked at.")
    func passes() throws {
        let lines = [
            "mode: explicit", "certificate: \(self.files.path("a.pem"))", "private_key: \(self.files.path("a.key"))",
        ]
        #expect(try TLSMaterial.check(try self.configuration(lines), file: "ftplb.yaml") == [])
    }

    @Test("Every bad file of a service is reported, each at its key path, naming the file, with the cipher list.")
    func everyProblem() {
        let error = self.check([
            "mode: explicit",
            "certificate: \(self.files.path("a.pem"))",
            "private_key: \(self.files.path("b.key"))",
            "sni:",
            "  - {certificate: \(self.files.path("missing.pem")), private_key: \(self.files.path("b.key"))}",
            "ciphers: NO-SUCH-CIPHER",
        ])
        let all = error.map { [$0] + $0.others } ?? []
        #expect(
            all.map(\.path) == [
                "virtual_services[1].tls.private_key", "virtual_services[1].tls.sni[0].certificate",
                "virtual_services[1].tls.ciphers",
            ]
        )
        #expect(all.allSatisfy { $0.file == "ftplb.yaml" && $0.code == .invalidValue })
        #expect(
            all.first?.located
                == "ftplb.yaml: virtual_services[1].tls.private_key: \(self.files.path("b.key")): the private key does "
                + "not match the certificate in \(self.files.path("a.pem"))"
        )
        #expect(
            all.dropFirst().first?.message
                == "\(self.files.path("missing.pem")): cannot read the file: No such file or directory"
        )
    }

    @Test("Warnings name the key path and the certificate file.")
    func warnings() throws {
        let lines = [
            "mode: explicit",
            "certificate: \(self.files.path("a.pem"))",
            "private_key: \(self.files.path("a.key"))",
            "sni: [{certificate: \(self.files.path("b.pem")), private_key: \(self.files.path("b.key"))}]",
        ]
        let warnings = try TLSMaterial.check(
            try self.configuration(lines),
            file: "ftplb.yaml",
            now: time(nil) + 3 * 86_400
        )
        #expect(warnings.count == 2)
        #expect(
            warnings.first?.hasPrefix(
                "virtual_services[1].tls.certificate: \(self.files.path("a.pem")): certificate expired on "
            ) == true
        )
        #expect(
            warnings.last?.hasPrefix("virtual_services[1].tls.sni[0].certificate: \(self.files.path("b.pem")): ")
                == true
        )
    }

    @Test("For the quick form the problem names the flag.")
    func quickForm() throws {
        let configuration = try ConfigurationLoader.quick(
            listen: "10.0.0.1:21",
            servers: ["10.0.2.11"],
            passivePorts: "40000-40999",
            advertise: nil,
            sourceAddress: nil,
            activeSourcePort: nil,
            logLevel: nil,
            tlsCertificate: self.files.path("a.pem"),
            tlsPrivateKey: self.files.path("b.key")
        )
        let error = #expect(throws: ConfigurationError.self) { try TLSMaterial.check(configuration, file: nil) }
        #expect(error?.path == "--tls-key")
        #expect(error?.file == nil)
    }
}
