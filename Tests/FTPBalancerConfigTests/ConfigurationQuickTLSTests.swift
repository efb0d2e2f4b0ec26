import Testing

@testable import FTPBalancerConfig

@Suite("The quick form's --tls-cert, --tls-key and --tls-implicit")
struct ConfigurationQuickTLSTests {
    func tls(
        certificate: String?,
        privateKey: String?,
        implicit: Bool = false
    ) throws(ConfigurationError) -> ClientTLSConfiguration? {
        try ConfigurationLoader.quick(
            listen: "10.0.0.1:21",
            servers: ["10.0.2.11"],
            passivePorts: "40000-40999",
            advertise: nil,
            sourceAddress: nil,
            activeSourcePort: nil,
            logLevel: nil,
            tlsCertificate: certificate,
            tlsPrivateKey: privateKey,
            tlsImplicit: implicit
        ).virtualServices[0].tls
    }

    func error(
        certificate: String?,
        privateKey: String?,
        implicit: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try self.tls(certificate: certificate, privateKey: privateKey, implicit: implicit)
        }
    }

    @Test("Without TLS flags the service is plain FTP.")
    func absent() throws {
        #expect(try self.tls(certificate: nil, privateKey: nil) == nil)
    }

    @Test("--tls-cert and --tls-key make explicit FTPS with the file's defaults; --tls-implicit makes it implicit.")
    func both() throws {
        let identity = ClientTLSConfiguration.Identity(certificateFile: "/etc/a.pem", privateKeyFile: "/etc/a.key")
        #expect(
            try self.tls(certificate: "/etc/a.pem", privateKey: "/etc/a.key")
                == ClientTLSConfiguration(mode: .explicit, identity: identity)
        )
        #expect(
            try self.tls(certificate: "/etc/a.pem", privateKey: "/etc/a.key", implicit: true)
                == ClientTLSConfiguration(mode: .implicit, identity: identity)
        )
    }

    @Test("One of --tls-cert and --tls-key without the other, or --tls-implicit alone, says which flag is missing.")
    func incomplete() {
        let noKey = self.error(certificate: "/etc/a.pem", privateKey: nil)
        #expect(noKey?.code == .missingKey)
        #expect(noKey?.description == "--tls-key: --tls-cert needs --tls-key FILE, the private key of that certificate")
        #expect(
            self.error(certificate: nil, privateKey: "/etc/a.key")?.description
                == "--tls-cert: --tls-key needs --tls-cert FILE, the certificate chain that key belongs to"
        )
        #expect(
            self.error(certificate: nil, privateKey: nil, implicit: true)?.description
                == "--tls-implicit: implicit FTPS needs a certificate: add --tls-cert FILE and --tls-key FILE"
        )
    }

    @Test("A relative path is refused against its flag, as in the file.")
    func relative() {
        #expect(
            self.error(certificate: "a.pem", privateKey: "/etc/a.key")?.description
                == "--tls-cert: expected an absolute file path such as /etc/ftplb/ftps.pem; found 'a.pem'"
        )
        #expect(self.error(certificate: "/etc/a.pem", privateKey: "a.key")?.path == "--tls-key")
    }
}
