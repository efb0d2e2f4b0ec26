import Testing

@testable import FTPBalancerConfig

@Suite("server_tls")
struct ConfigurationServerTLSTests {
    static func file(_ lines: String) -> String {
        """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40099
            servers: [10.0.2.11:21]
        \(lines)
        """
    }

    @Test("Absent or mode off, the servers get plain FTP.")
    func offByDefault() throws {
        #expect(try ConfigurationLoader.parse(yaml: Self.file(""), file: nil).virtualServices[0].serverTLS == nil)
        let off = try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: off}"), file: nil)
        #expect(off.virtualServices[0].serverTLS == nil)
    }

    @Test("Every key is read, protection defaulting to required and verify to true, and check-config shows it.")
    func everyKey() throws {
        let explicit = try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: explicit, ca: /etc/ca.pem}"), file: nil)
        #expect(explicit.virtualServices[0].serverTLS == ServerTLSConfiguration(mode: .explicit, caFile: "/etc/ca.pem"))
        #expect(
            explicit.virtualServices[0].summaryLines.contains(
                "  server TLS:         explicit, PROT P, certificates verified against /etc/ca.pem"
            )
        )
        let implicit = try ConfigurationLoader.parse(
            yaml: Self.file("    server_tls: {mode: implicit, protection: clear, verify: false}"),
            file: nil
        )
        #expect(implicit.virtualServices[0].serverTLS == ServerTLSConfiguration(mode: .implicit, protection: .clear, verify: false))
    }

    @Test("match_client and protection: client follow the client's TLS, which the service must offer.")
    func followingTheClientNeedsClientTLS() throws {
        let tls = "    tls: {mode: explicit, certificate: /etc/ftplb/cert.pem, private_key: /etc/ftplb/key.pem}\n"
        let following = try ConfigurationLoader.parse(
            yaml: Self.file(tls + "    server_tls: {mode: match_client, protection: client}"),
            file: nil
        )
        #expect(following.virtualServices[0].serverTLS == ServerTLSConfiguration(mode: .matchClient, protection: .client))
        #expect(following.virtualServices[0].summaryLines.contains { $0.contains("match_client, PROT as the client's") })
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: match_client}"), file: "f.yaml")
        } throws: { error in
            "\(error)".hasPrefix("f.yaml:6:")
                && "\(error)".contains("virtual_services[0].server_tls.mode: match_client follows the client's TLS, but this service has no tls: section")
        }
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: explicit, protection: client}"), file: "f.yaml")
        } throws: { error in
            "\(error)".contains("virtual_services[0].server_tls.protection: client follows the client's TLS")
        }
    }

    @Test("A wrong mode, protection or key is refused with its line and key path.")
    func errorsNameTheKeyPath() {
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: tls}"), file: "f.yaml")
        } throws: { error in
            "\(error)" == "f.yaml:6:24: virtual_services[0].server_tls.mode: expected one of off, explicit, implicit, match_client; found 'tls'"
        }
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: explicit, protection: private}"), file: "f.yaml")
        } throws: { error in
            "\(error)".hasPrefix("f.yaml:6:") && "\(error)".contains("virtual_services[0].server_tls.protection: expected one of required, clear")
        }
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {mode: explicit, cert: x.pem}"), file: "f.yaml")
        } throws: { error in
            "\(error)".contains("server_tls") && "\(error)".contains("cert")
        }
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    server_tls: {protection: clear}"), file: "f.yaml")
        } throws: { error in
            "\(error)".contains("mode")
        }
    }
}
