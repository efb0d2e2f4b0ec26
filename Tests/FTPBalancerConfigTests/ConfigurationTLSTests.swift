import Testing

@testable import FTPBalancerConfig

@Suite("A virtual service's tls section")
struct ConfigurationTLSTests {
    static let plain = """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            servers: [10.0.2.11]
        """

    /// A service whose `tls` section (line 6) holds `lines`, from line 7 on.
    static func file(_ lines: [String]) -> String {
        Self.plain + "\n    tls:" + lines.map { "\n      " + $0 }.joined()
    }

    static let required = ["mode: explicit", "certificate: /etc/ftplb/ftps.pem", "private_key: /etc/ftplb/ftps.key"]

    func tls(_ lines: [String]) throws -> ClientTLSConfiguration? {
        try ConfigurationLoader.parse(yaml: Self.file(lines), file: "ftplb.yaml").virtualServices[0].tls
    }

    func error(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: Self.file(lines), file: "ftplb.yaml")
        }
    }

    @Test("A service without a tls section serves plain FTP only.")
    func absent() throws {
        #expect(try ConfigurationLoader.parse(yaml: Self.plain, file: nil).virtualServices[0].tls == nil)
    }

    @Test("mode, certificate and private_key alone leave every other key at its default.")
    func defaults() throws {
        let expected = ClientTLSConfiguration(
            mode: .explicit,
            identity: .init(certificateFile: "/etc/ftplb/ftps.pem", privateKeyFile: "/etc/ftplb/ftps.key"),
            sniIdentities: [],
            minVersion: .tls12,
            ciphers: nil,
            require: .none,
            sessionReuse: .required
        )
        #expect(try self.tls(Self.required) == expected)
    }

    @Test("Every key is taken as written, sni entries in their order.")
    func everyKey() throws {
        let tls = try self.tls([
            "mode: implicit",
            "certificate: /etc/ftplb/a.pem",
            "private_key: /etc/ftplb/a.key",
            "sni:",
            "  - certificate: /etc/ftplb/b.pem",
            "    private_key: /etc/ftplb/b.key",
            "  - {certificate: /etc/ftplb/c.pem, private_key: /etc/ftplb/c.pem}",
            "min_version: \"1.2\"",
            "ciphers: \"ECDHE+AESGCM:ECDHE+CHACHA20\"",
            "require: data",
            "session_reuse: preferred",
        ])
        let expected = ClientTLSConfiguration(
            mode: .implicit,
            identity: .init(certificateFile: "/etc/ftplb/a.pem", privateKeyFile: "/etc/ftplb/a.key"),
            sniIdentities: [
                .init(certificateFile: "/etc/ftplb/b.pem", privateKeyFile: "/etc/ftplb/b.key"),
                .init(certificateFile: "/etc/ftplb/c.pem", privateKeyFile: "/etc/ftplb/c.pem"),
            ],
            minVersion: .tls12,
            ciphers: "ECDHE+AESGCM:ECDHE+CHACHA20",
            require: .data,
            sessionReuse: .preferred
        )
        #expect(tls == expected)
        #expect(
            try self.tls(Self.required + ["min_version: 1.3", "require: login", "session_reuse: off"])
                .map { [$0.minVersion.rawValue, $0.require.rawValue, $0.sessionReuse.rawValue] }
                == ["1.3", "login", "off"]
        )
    }

    @Test("A missing mode, certificate or private_key is refused at the section's line with its path.")
    func missingKeys() {
        for (index, key) in ["mode", "certificate", "private_key"].enumerated() {
            var lines = Self.required
            lines.remove(at: index)
            #expect(
                self.error(lines)?.description
                    == "ftplb.yaml:7:7: virtual_services[0].tls.\(key): missing required key '\(key)'",
                "\(key)"
            )
        }
        #expect(
            self.error(Self.required + ["sni:", "  - certificate: /etc/ftplb/b.pem"])?.description
                == "ftplb.yaml:11:11: virtual_services[0].tls.sni[0].private_key: missing required key 'private_key'"
        )
    }

    @Test("An unknown key, in the section or in an sni entry, is refused at its line.")
    func unknownKeys() {
        let error = self.error(Self.required + ["verify_client: true"])
        #expect(error?.code == .unknownKey)
        #expect(error?.line == 10)
        #expect(error?.path == "virtual_services[0].tls.verify_client")
        let sni = self.error(Self.required + ["sni:", "  - {certificate: /b.pem, private_key: /b.key, name: b}"])
        #expect(sni?.code == .unknownKey)
        #expect(sni?.path == "virtual_services[0].tls.sni[0].name")
    }

    @Test("A wrong mode, version, requirement or reuse setting is refused with the choices.")
    func wrongWords() {
        let cases: [(String, String)] = [
            (
                "mode: auto",
                "ftplb.yaml:7:13: virtual_services[0].tls.mode: expected one of explicit, implicit; found 'auto'"
            ),
            (
                "min_version: \"1.1\"",
                "ftplb.yaml:10:20: virtual_services[0].tls.min_version: expected \"1.2\" or \"1.3\" "
                    + "(older TLS versions are not offered); found '1.1'"
            ),
            (
                "require: all",
                "ftplb.yaml:10:16: virtual_services[0].tls.require: expected one of none, login, data; found 'all'"
            ),
            (
                "session_reuse: sometimes",
                "ftplb.yaml:10:22: virtual_services[0].tls.session_reuse: expected one of required, preferred, off; "
                    + "found 'sometimes'"
            ),
        ]
        for (line, message) in cases {
            var lines = Self.required
            if line.hasPrefix("mode:") { lines[0] = line } else { lines.append(line) }
            #expect(self.error(lines)?.description == message, "\(line)")
        }
    }

    @Test("A relative or directory path is refused at its line, in the section and in sni.")
    func paths() {
        #expect(
            self.error(["mode: explicit", "certificate: ftps.pem", "private_key: /etc/ftplb/ftps.key"])?.description
                == "ftplb.yaml:8:20: virtual_services[0].tls.certificate: expected an absolute file path such as "
                + "/etc/ftplb/ftps.pem; found 'ftps.pem'"
        )
        #expect(
            self.error(Self.required + ["sni: [{certificate: /etc/b.pem, private_key: /etc/}]"])?.description
                == "ftplb.yaml:10:52: virtual_services[0].tls.sni[0].private_key: expected a file path, "
                + "not a directory; found '/etc/'"
        )
    }

    @Test("An empty sni list, or sni as a single value, is refused.")
    func sniShape() {
        #expect(
            self.error(Self.required + ["sni: []"])?.description
                == "ftplb.yaml:10:12: virtual_services[0].tls.sni: expected at least one certificate; leave sni out for none"
        )
        #expect(self.error(Self.required + ["sni: /etc/b.pem"])?.message == "expected a list, found a single value")
    }

    @Test("ciphers with characters no cipher list has, or under min_version 1.3, is refused.")
    func ciphers() {
        #expect(self.error(Self.required + ["ciphers: \"ECDHE;rm -rf\""])?.path == "virtual_services[0].tls.ciphers")
        #expect(
            self.error(Self.required + ["min_version: \"1.3\"", "ciphers: ECDHE+AESGCM"])?.description
                == "ftplb.yaml:11:16: virtual_services[0].tls.ciphers: ciphers applies to TLS 1.2 only, but "
                + "min_version is 1.3; remove ciphers or set min_version: \"1.2\""
        )
    }

    @Test("check-config's summary names the mode, the files, require and session_reuse.")
    func summary() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: Self.file(Self.required + ["sni: [{certificate: /etc/b.pem, private_key: /etc/b.key}]"]),
            file: nil
        )
        let summary = configuration.summary
        #expect(summary.contains("  tls:                explicit (plain FTP until AUTH TLS), TLS 1.2 or later"))
        #expect(summary.contains("  tls certificate:    /etc/ftplb/ftps.pem (key /etc/ftplb/ftps.key)\n"))
        #expect(summary.contains("  tls certificate:    /etc/b.pem (key /etc/b.key), for the names it holds (SNI)"))
        #expect(summary.contains("  tls require:        none (plain FTP still allowed)"))
        #expect(summary.contains("  tls session reuse:  required ("))
        #expect(!(try ConfigurationLoader.parse(yaml: Self.plain, file: nil)).summary.contains("tls"))
    }
}
