import FTPBalancerConfig
import NIOSSL

/// A certificate chain and its key, loaded from PEM files and checked to belong together.
package struct TLSIdentity: Sendable {
    package var certificateChain: [NIOSSLCertificate]
    package var privateKey: NIOSSLPrivateKey
    /// DNS names of the leaf, lowercased, for SNI.
    package var names: [String]
    package var files: ClientTLSConfiguration.Identity
    package var warnings: [String] = []
}

package struct TLSMaterialError: Error, Equatable, CustomStringConvertible {
    package var file: String
    package var problem: String
    package var description: String { "\(self.file): \(self.problem)" }
}

package enum TLSMaterial {
    package static func loadIdentity(_ files: ClientTLSConfiguration.Identity) throws(TLSMaterialError) -> TLSIdentity {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
        } catch {
            throw TLSMaterialError(file: files.certificateFile, problem: "no PEM certificate could be read")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKeyFile, format: .pem)
        } catch {
            throw TLSMaterialError(file: files.privateKeyFile, problem: "no PEM private key could be read")
        }
        return TLSIdentity(certificateChain: chain, privateKey: key, names: [], files: files)
    }

    package static func loadIdentities(_ configuration: ClientTLSConfiguration) throws(TLSMaterialError) -> [TLSIdentity] {
        var identities: [TLSIdentity] = []
        for files in [configuration.identity] + configuration.sniIdentities {
            identities.append(try Self.loadIdentity(files))
        }
        return identities
    }
}
