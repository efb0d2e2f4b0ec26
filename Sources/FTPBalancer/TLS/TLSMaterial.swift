import CNIOBoringSSL
import FTPBalancerConfig
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A certificate chain and its key, loaded from PEM files and checked to belong together.
package struct TLSIdentity: Sendable {
    package var certificateChain: [NIOSSLCertificate]
    package var privateKey: NIOSSLPrivateKey
    /// DNS names (SAN dNSName, else CN) of the leaf, lowercased, for SNI.
    package var names: [String]
    package var files: ClientTLSConfiguration.Identity
    /// What the operator should hear about but that does not stop the balancer, such as
    /// `certificate expired on 2001-01-01 00:00:00 UTC`; without the file's name.
    package var warnings: [String]
}

/// Why the files of a `tls` section cannot serve: one file, and what is wrong with it in an
/// operator's words (never the TLS library's error stack).
package struct TLSMaterialError: Error, Equatable, CustomStringConvertible {
    package var file: String
    package var problem: String

    package init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }

    package var description: String { "\(self.file): \(self.problem)" }
}

/// Reads the PEM files of a virtual service's `tls` section into what a `NIOSSLContext` is made
/// of, with every check that can be made before a client connects. The only code of the
/// project that calls BoringSSL itself, for what NIOSSL does not offer: comparing a key with a
/// certificate, and trying a cipher list (NIOSSL stops the process on one BoringSSL refuses).
package enum TLSMaterial {
    /// `files`, read and checked; `now` (seconds since the epoch) is for the expiry warnings.
    package static func loadIdentity(
        _ files: ClientTLSConfiguration.Identity,
        now: time_t = time(nil)
    ) throws(TLSMaterialError) -> TLSIdentity {
        let certificateFile = files.certificateFile
        let chain = try Self.certificates(try Self.read(certificateFile), file: certificateFile)
        let keyBytes = try Self.read(files.privateKeyFile)
        let key = try Self.privateKey(keyBytes, file: files.privateKeyFile)
        guard Self.publicKey(of: chain[0], matches: key) else {
            if let index = chain.indices.dropFirst().first(where: { Self.publicKey(of: chain[$0], matches: key) }) {
                throw TLSMaterialError(
                    file: certificateFile,
                    problem: "the private key \(files.privateKeyFile) belongs to certificate \(index + 1) of this "
                        + "file, not to the first: put the server's own certificate first, then its chain"
                )
            }
            throw TLSMaterialError(
                file: files.privateKeyFile,
                problem: "the private key does not match the certificate in \(certificateFile)"
            )
        }
        do {
            // What a client will meet: the library itself takes the pair (a key type it cannot
            // sign handshakes with fails here).
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSMaterialError(
                file: files.privateKeyFile,
                problem: "the TLS library cannot serve this key with the certificate in \(certificateFile)"
            )
        }
        return TLSIdentity(
            certificateChain: chain,
            privateKey: key,
            names: Self.names(of: chain[0]),
            files: files,
            warnings: Self.validityWarnings(of: chain[0], now: now)
        )
    }

    /// Every identity of a service's `tls:` (default first, then sni), each checked.
    package static func loadIdentities(
        _ configuration: ClientTLSConfiguration,
        now: time_t = time(nil)
    ) throws(TLSMaterialError) -> [TLSIdentity] {
        var identities: [TLSIdentity] = []
        for files in [configuration.identity] + configuration.sniIdentities {
            identities.append(try Self.loadIdentity(files, now: now))
        }
        Self.addSNIWarnings(to: &identities)
        return identities
    }

    /// The warnings that compare a service's certificates (default first, then sni): an sni
    /// certificate that SNI never chooses.
    static func addSNIWarnings(to identities: inout [TLSIdentity]) {
        for index in identities.indices.dropFirst() {
            if identities[index].names.isEmpty {
                identities[index].warnings.append("the certificate names no DNS name, so SNI never chooses it")
            }
            // The first sni entry that names a server wins; a later one is dead weight.
            for name in identities[index].names {
                if let earlier = identities[1..<index].first(where: { $0.names.contains(name) }) {
                    identities[index].warnings.append(
                        "\(name) is also named by \(earlier.files.certificateFile), which comes first: "
                            + "this certificate is never chosen for it"
                    )
                }
            }
        }
    }

    /// Why `ciphers` cannot serve, in words; nil when the TLS library takes it.
    package static func cipherListProblem(_ ciphers: String) -> String? {
        // NIOSSL makes the same, lenient call, and stops the process when it fails.
        guard Self.cipherListIsAccepted(ciphers, strict: false) else {
            return "the list selects no TLS 1.2 cipher the TLS library knows; found '\(ciphers)'"
        }
        // The lenient call skips a name it does not know: one meant to select ciphers is a
        // mistake to report; one after ! or - excludes nothing either way (OpenSSL's !MD5).
        for name in ciphers.split(whereSeparator: { ":, ".contains($0) }) where !"!-+@".contains(name.first!) {
            guard Self.cipherListIsAccepted(String(name), strict: true) else {
                return "the TLS library knows no cipher named '\(name)' (TLS 1.3 suites are not configurable); "
                    + "found '\(ciphers)'"
            }
        }
        return nil
    }

    private static func cipherListIsAccepted(_ ciphers: String, strict: Bool) -> Bool {
        guard let context = SSL_CTX_new(TLS_method()) else {
            return false
        }
        defer {
            SSL_CTX_free(context)
            ERR_clear_error()
        }
        let result =
            strict ? SSL_CTX_set_strict_cipher_list(context, ciphers) : SSL_CTX_set_cipher_list(context, ciphers)
        return result == 1
    }

    /// The certificates of a PEM file, leaf first.
    private static func certificates(_ bytes: [UInt8], file: String) throws(TLSMaterialError) -> [NIOSSLCertificate] {
        _ = try Self.pemText(bytes, file: file, holding: "CERTIFICATE", named: "certificate", converter: "x509")
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(bytes)
            guard !chain.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            return chain
        } catch {
            throw TLSMaterialError(file: file, problem: "a certificate in it is damaged and cannot be read")
        }
    }

    /// The private key of a PEM file, which may hold certificates too.
    private static func privateKey(_ bytes: [UInt8], file: String) throws(TLSMaterialError) -> NIOSSLPrivateKey {
        let text = try Self.pemText(bytes, file: file, holding: "PRIVATE KEY", named: "private key", converter: "pkey")
        let encrypted = TLSMaterialError(
            file: file,
            problem: "the private key is encrypted, and a passphrase is not supported: "
                + "write it without one, as `openssl pkey -in FILE -out FILE.plain`, readable by ftplb only"
        )
        if text.contains("ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
            throw encrypted
        }
        // A passphrase callback that gives none: without one BoringSSL could prompt on stdin.
        let asked = PassphraseRequest()
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { (_: NIOSSLPassphraseSetter<[UInt8]>) in
                asked.happened = true
            }
        } catch {
            throw asked.happened
                ? encrypted
                : TLSMaterialError(file: file, problem: "the private key in it is damaged and cannot be read")
        }
    }

    /// The text of a PEM file with a `block` in it; else what the file is instead, in words that
    /// name the material and the `openssl` command that converts its DER form.
    private static func pemText(
        _ bytes: [UInt8],
        file: String,
        holding block: String,
        named: String,
        converter: String
    ) throws(TLSMaterialError) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("-----BEGIN ") else {
            throw TLSMaterialError(
                file: file,
                problem: "not a PEM file (no -----BEGIN line); a DER \(named) converts with "
                    + "`openssl \(converter) -inform der -in FILE -out FILE.pem`"
            )
        }
        guard text.contains("\(block)-----") else {
            throw TLSMaterialError(file: file, problem: "no \(named) in it (no -----BEGIN \(block)----- block)")
        }
        return text
    }

    /// Whether `key` is the private half of `certificate`'s public key.
    private static func publicKey(of certificate: NIOSSLCertificate, matches key: NIOSSLPrivateKey) -> Bool {
        defer { ERR_clear_error() }
        guard let spki = try? certificate.extractPublicKey().toSPKIBytes(), let der = try? key.derBytes else {
            return false
        }
        let certificateKey = spki.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var start = buffer.baseAddress
            return d2i_PUBKEY(nil, &start, buffer.count)
        }
        let privateKey = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var start = buffer.baseAddress
            return d2i_AutoPrivateKey(nil, &start, buffer.count)
        }
        defer {
            EVP_PKEY_free(certificateKey)
            EVP_PKEY_free(privateKey)
        }
        guard let certificateKey, let privateKey else { return false }
        return EVP_PKEY_cmp(certificateKey, privateKey) == 1
    }

    /// The leaf's DNS names: subjectAltName dNSName entries, else the last common name.
    private static func names(of certificate: NIOSSLCertificate) -> [String] {
        var names: [String] = []
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            names.append(String(decoding: Array(name.contents), as: UTF8.self).lowercased())
        }
        if names.isEmpty, let commonName = certificate.subjectName.last(where: { $0.type == .commonName }) {
            names.append(commonName.value.lowercased())
        }
        return names
    }

    private static func validityWarnings(of certificate: NIOSSLCertificate, now: time_t) -> [String] {
        var warnings: [String] = []
        if certificate.notValidAfter < now {
            warnings.append(
                "certificate expired on \(Self.utcText(certificate.notValidAfter)); clients that check it refuse to connect"
            )
        }
        if certificate.notValidBefore > now {
            warnings.append(
                "certificate is not valid before \(Self.utcText(certificate.notValidBefore)); "
                    + "clients that check it refuse to connect until then"
            )
        }
        return warnings
    }
}

/// Set when BoringSSL asks for a passphrase: the key is encrypted.
private final class PassphraseRequest: @unchecked Sendable {
    var happened = false
}
