import FTPBalancerConfig
import Foundation
import Testing

@testable import FTPBalancer

/// Real PEM files from the `openssl` command, read the way `check-config` and `run` read them.
@Suite("Certificates and keys of a tls section")
final class TLSMaterialTests {
    let files: TLSTestFiles

    init() throws {
        self.files = try TLSTestFiles()
    }

    deinit {
        self.files.remove()
    }

    func identity(_ certificate: String, _ key: String) -> ClientTLSConfiguration.Identity {
        .init(certificateFile: self.files.path(certificate), privateKeyFile: self.files.path(key))
    }

    /// The error loading `certificate` and `key` gives; fails the test if they load.
    func failure(
        _ certificate: String,
        _ key: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> TLSMaterialError? {
        #expect(throws: TLSMaterialError.self, sourceLocation: sourceLocation) {
            try TLSMaterial.loadIdentity(self.identity(certificate, key))
        }
    }

    @Test("A certificate and its own key load, named by their SAN DNS names in lower case, without warnings.")
    func matching() throws {
        try self.files.key("a.key")
        try self.files.selfSigned(
            "a.pem",
            key: "a.key",
            subject: "/CN=ignored.example.com",
            san: "DNS:Ftp.Example.com,IP:127.0.0.1,DNS:ftp2.example.com"
        )
        let identity = try TLSMaterial.loadIdentity(self.identity("a.pem", "a.key"))
        #expect(identity.names == ["ftp.example.com", "ftp2.example.com"])
        #expect(identity.certificateChain.count == 1)
        #expect(identity.warnings.isEmpty)
        #expect(identity.files == self.identity("a.pem", "a.key"))
    }

    @Test(
        "Without a SAN DNS name the common name is the certificate's name; one file may hold both key and certificate."
    )
    func commonNameAndCombinedFile() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key", subject: "/O=Example/CN=FTP.example.org")
        _ = try self.files.concatenate(["a.key", "a.pem"], into: "both.pem")
        #expect(try TLSMaterial.loadIdentity(self.identity("both.pem", "both.pem")).names == ["ftp.example.org"])
    }

    @Test("A chain loads leaf first; the leaf after its CA is refused with how to order the file.")
    func chainOrder() throws {
        try self.files.key("ca.key")
        try self.files.selfSigned("ca.pem", key: "ca.key", subject: "/CN=Test CA")
        try self.files.key("leaf.key")
        try self.files.signed(
            "leaf.pem",
            key: "leaf.key",
            subject: "/CN=leaf.example.com",
            ca: "ca.pem",
            caKey: "ca.key"
        )
        _ = try self.files.concatenate(["leaf.pem", "ca.pem"], into: "chain.pem")
        _ = try self.files.concatenate(["ca.pem", "leaf.pem"], into: "reversed.pem")
        let identity = try TLSMaterial.loadIdentity(self.identity("chain.pem", "leaf.key"))
        #expect(identity.certificateChain.count == 2)
        #expect(identity.names == ["leaf.example.com"])
        #expect(
            self.failure("reversed.pem", "leaf.key")?.description
                == "\(self.files.path("reversed.pem")): the private key \(self.files.path("leaf.key")) belongs to "
                + "certificate 2 of this file, not to the first: put the server's own certificate first, then its chain"
        )
    }

    @Test("A key of another certificate, of the same type or not, is refused naming the key and the certificate.")
    func mismatchedKey() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key")
        try self.files.key("b.key")
        try self.files.key("rsa.key", rsa: true)
        for key in ["b.key", "rsa.key"] {
            let error = self.failure("a.pem", key)
            #expect(error?.file == self.files.path(key))
            #expect(
                error?.description
                    == "\(self.files.path(key)): the private key does not match the certificate in \(self.files.path("a.pem"))"
            )
        }
    }

    @Test("A missing file, a directory and an empty file are refused with the reason.")
    func unreadable() throws {
        try self.files.key("a.key")
        try self.files.write("empty.pem", "")
        let missing = self.failure("missing.pem", "a.key")
        #expect(
            missing
                == TLSMaterialError(
                    file: self.files.path("missing.pem"),
                    problem: "cannot read the file: No such file or directory"
                )
        )
        #expect(self.failure("", "a.key")?.problem == "cannot read the file: Is a directory")
        #expect(self.failure("empty.pem", "a.key")?.problem == "cannot read the file: the file is empty")
    }

    @Test("A DER certificate, a text file and a file without a certificate are refused as what they are.")
    func notACertificate() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key")
        try self.files.openssl([
            "x509", "-in", self.files.path("a.pem"), "-outform", "der", "-out", self.files.path("a.der"),
        ])
        try self.files.write("notes.txt", "this is not a certificate\n")
        try self.files.write("damaged.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        #expect(
            self.failure("a.der", "a.key")?.problem.hasPrefix(
                "not a PEM file (no -----BEGIN line); a DER certificate converts with"
            ) == true
        )
        #expect(self.failure("notes.txt", "a.key")?.problem.hasPrefix("not a PEM file") == true)
        #expect(
            self.failure("a.key", "a.key")?.problem == "no certificate in it (no -----BEGIN CERTIFICATE----- block)"
        )
        #expect(self.failure("damaged.pem", "a.key")?.problem == "a certificate in it is damaged and cannot be read")
    }

    @Test("A key file without a key, with a damaged one or in DER, is refused naming the key file.")
    func notAKey() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key")
        try self.files.write("damaged.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        let error = self.failure("a.pem", "a.pem")
        #expect(
            error
                == TLSMaterialError(
                    file: self.files.path("a.pem"),
                    problem: "no private key in it (no -----BEGIN PRIVATE KEY----- block)"
                )
        )
        #expect(self.failure("a.pem", "damaged.key")?.problem == "the private key in it is damaged and cannot be read")
        try self.files.openssl(["pkey", "-in", self.files.path("a.key"), "-outform", "der", "-out", self.files.path("a.der")])
        #expect(
            self.failure("a.pem", "a.der")?.problem
                == "not a PEM file (no -----BEGIN line); a DER private key converts with `openssl pkey -inform der -in FILE -out FILE.pem`"
        )
    }

    @Test("An encrypted key, PKCS#8 or traditional, is refused: a passphrase is not supported.")
    func encryptedKey() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key")
        let source = self.files.path("a.key")
        try self.files.openssl([
            "pkey", "-in", source, "-aes128", "-passout", "pass:secret", "-out", self.files.path("p8.key"),
        ])
        try self.files.openssl([
            "pkey", "-in", source, "-aes128", "-passout", "pass:secret", "-traditional", "-out",
            self.files.path("old.key"),
        ])
        for key in ["p8.key", "old.key"] {
            let error = self.failure("a.pem", key)
            #expect(error?.file == self.files.path(key))
            #expect(
                error?.problem.hasPrefix("the private key is encrypted, and a passphrase is not supported") == true,
                "\(key)"
            )
        }
    }

    @Test("An expired or not yet valid certificate loads with a warning.")
    func validity() throws {
        try self.files.key("a.key")
        try self.files.selfSigned("a.pem", key: "a.key")
        let identity = self.identity("a.pem", "a.key")
        let made = time(nil)
        let later = try TLSMaterial.loadIdentity(identity, now: made + 3 * 86_400)
        #expect(later.warnings.count == 1)
        #expect(later.warnings.first?.hasPrefix("certificate expired on 20") == true)
        #expect(later.warnings.first?.hasSuffix(" UTC; clients that check it refuse to connect") == true)
        let earlier = try TLSMaterial.loadIdentity(identity, now: made - 3 * 86_400)
        #expect(earlier.warnings.first?.hasPrefix("certificate is not valid before 20") == true)
    }

    @Test("Warning dates are written in UTC, whatever the machine's time zone.")
    func dates() {
        #expect(TLSMaterial.utcText(0) == "1970-01-01 00:00:00 UTC")
        #expect(TLSMaterial.utcText(978_307_199) == "2000-12-31 23:59:59 UTC")
    }

    @Test("Identities load default first, then sni; an sni certificate SNI never chooses gets a warning.")
    func identities() throws {
        for name in ["a", "b", "c", "d"] {
            try self.files.key("\(name).key")
        }
        try self.files.selfSigned("a.pem", key: "a.key", san: "DNS:a.example.com")
        try self.files.selfSigned("b.pem", key: "b.key", san: "DNS:b.example.com,DNS:shared.example.com")
        try self.files.selfSigned("c.pem", key: "c.key", san: "DNS:shared.example.com")
        try self.files.selfSigned("d.pem", key: "d.key", subject: "/O=No Name")
        let configuration = ClientTLSConfiguration(
            mode: .explicit,
            identity: self.identity("a.pem", "a.key"),
            sniIdentities: [
                self.identity("b.pem", "b.key"), self.identity("c.pem", "c.key"), self.identity("d.pem", "d.key"),
            ]
        )
        let identities = try TLSMaterial.loadIdentities(configuration)
        #expect(
            identities.map(\.names) == [
                ["a.example.com"], ["b.example.com", "shared.example.com"], ["shared.example.com"], [],
            ]
        )
        #expect(identities[1].warnings.isEmpty)
        #expect(
            identities[2].warnings == [
                "shared.example.com is also named by \(self.files.path("b.pem")), which comes first: this certificate is never chosen for it"
            ]
        )
        #expect(identities[3].warnings == ["the certificate names no DNS name, so SNI never chooses it"])
    }

    @Test(
        "A cipher list the TLS library takes passes, exclusions of names it lacks included; a misspelt name is refused."
    )
    func cipherLists() {
        #expect(TLSMaterial.cipherListProblem("ECDHE+AESGCM") == nil)
        #expect(TLSMaterial.cipherListProblem("ECDHE-RSA-AES128-GCM-SHA256:ECDHE+CHACHA20") == nil)
        #expect(TLSMaterial.cipherListProblem("HIGH:!aNULL:!MD5") == nil)
        #expect(
            TLSMaterial.cipherListProblem("ECDHE+AESGCM:ECDHE+AESGMC")
                == "the TLS library knows no cipher named 'ECDHE+AESGMC' (TLS 1.3 suites are not configurable); "
                + "found 'ECDHE+AESGCM:ECDHE+AESGMC'"
        )
        #expect(
            TLSMaterial.cipherListProblem("!aNULL")
                == "the list selects no TLS 1.2 cipher the TLS library knows; found '!aNULL'"
        )
    }
}
