import FTPBalancerConfig
import FTPProtocol
import NIOCore
import NIOSSL

/// What a virtual service needs to terminate its clients' TLS: one `NIOSSLContext` for control
/// and data connections alike (its session cache is what data connections resume from), the
/// SNI choice among its certificates, and its `tls:` policy. Made at start and on reload; a
/// session keeps the one it began with, so a reload never breaks a resumption.
package final class ClientTLSContext: Sendable {
    package let configuration: ClientTLSConfiguration
    let context: NIOSSLContext

    package init(configuration: ClientTLSConfiguration, identities: [TLSIdentity]) throws(TLSMaterialError) {
        self.configuration = configuration
        guard let primary = identities.first else {
            throw TLSMaterialError(file: configuration.identity.certificateFile, problem: "no certificate")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: primary.certificateChain.map { .certificate($0) },
            privateKey: .privateKey(primary.privateKey)
        )
        tls.minimumTLSVersion = configuration.minVersion == .tls13 ? .tlsv13 : .tlsv12
        if let ciphers = configuration.ciphers { tls.cipherSuites = ciphers }
        if identities.count > 1 {
            let byName = Self.identitiesByName(identities.dropFirst())
            tls.sslContextCallback = { values, promise in
                guard let name = values.serverHostname?.lowercased(), let identity = Self.identity(for: name, in: byName) else {
                    return promise.succeed(.noChanges)
                }
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = identity.certificateChain.map { .certificate($0) }
                override.privateKey = .privateKey(identity.privateKey)
                promise.succeed(override)
            }
        }
        do {
            self.context = try NIOSSLContext(configuration: tls)
        } catch {
            throw TLSMaterialError(
                file: configuration.identity.certificateFile,
                problem: "cannot be used for TLS with its key and settings (min_version, ciphers)"
            )
        }
        if let problem = TLSConnectionInternals.selfTest(context: self.context) {
            throw TLSMaterialError(file: configuration.identity.certificateFile, problem: "TLS self-test failed: \(problem)")
        }
    }

    /// Loads the service's files and builds its context: the check `check-config` and a start
    /// run, and a reload repeats.
    package static func load(_ configuration: ClientTLSConfiguration) throws(TLSMaterialError) -> ClientTLSContext {
        try ClientTLSContext(configuration: configuration, identities: TLSMaterial.loadIdentities(configuration))
    }

    private static func identitiesByName(_ identities: ArraySlice<TLSIdentity>) -> [String: TLSIdentity] {
        var byName: [String: TLSIdentity] = [:]
        for identity in identities {
            for name in identity.names where byName[name] == nil { byName[name] = identity }
        }
        return byName
    }

    /// The identity whose certificate names `name`: exactly, or by a wildcard for its first label.
    static func identity(for name: String, in byName: [String: TLSIdentity]) -> TLSIdentity? {
        if let exact = byName[name] { return exact }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        return byName["*" + name[dot...]]
    }

    /// What a session's FTPS commands start from.
    var initialSecurity: ControlChannelSecurity {
        ControlChannelSecurity(
            offer: self.configuration.mode == .implicit ? .implicit : .explicit,
            requirement: {
                switch self.configuration.require {
                case .none: .none
                case .login: .login
                case .data: .data
                }
            }()
        )
    }
}
