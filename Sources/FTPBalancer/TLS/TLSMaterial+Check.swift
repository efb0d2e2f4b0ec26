import FTPBalancerConfig
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension TLSMaterial {
    /// The TLS files and cipher list of every virtual service with a `tls` section, checked as
    /// `check-config`, `run` and a reload report them: every problem as a `ConfigurationError`
    /// that names the key (`virtual_services[0].tls.private_key`, or the quick form's flag) and
    /// the file; the warnings, each naming its key and file, are returned. `file` is the
    /// configuration file, nil for the quick flags.
    package static func check(
        _ configuration: BalancerConfiguration,
        file: String?,
        now: time_t = time(nil)
    ) throws(ConfigurationError) -> [String] {
        var errors: [ConfigurationError] = []
        var warnings: [String] = []
        for (serviceIndex, service) in configuration.virtualServices.enumerated() {
            if let problem = Self.serverTLSProblem(service, index: serviceIndex, file: file) { errors.append(problem) }
            guard let tls = service.tls else { continue }
            let section = "virtual_services[\(serviceIndex)].tls"
            let entries =
                [(section, tls.identity)]
                + tls.sniIdentities.enumerated().map { ("\(section).sni[\($0.offset)]", $0.element) }
            var loaded: [TLSIdentity] = []
            for (path, identity) in entries {
                do {
                    loaded.append(try Self.loadIdentity(identity, now: now))
                } catch {
                    let key = Self.key(of: error.file, in: identity, under: path, file: file)
                    errors.append(
                        ConfigurationError(code: .invalidValue, file: file, path: key, message: error.description)
                    )
                }
            }
            if loaded.count == entries.count {
                Self.addSNIWarnings(to: &loaded)
                for (identity, (path, _)) in zip(loaded, entries) {
                    let key = Self.key(of: identity.files.certificateFile, in: identity.files, under: path, file: file)
                    warnings += identity.warnings.map { "\(key): \(identity.files.certificateFile): \($0)" }
                }
            }
            if let ciphers = tls.ciphers, let problem = Self.cipherListProblem(ciphers) {
                errors.append(
                    ConfigurationError(code: .invalidValue, file: file, path: "\(section).ciphers", message: problem)
                )
            }
        }
        if let gathered = ConfigurationError.gathered(errors) {
            throw gathered
        }
        return warnings
    }

    /// The key that names `failedFile` of `identity`: its `certificate` (also when both keys
    /// name one file) or its `private_key`; the quick form's `--tls-cert` or `--tls-key`.
    private static func key(
        of failedFile: String,
        in identity: ClientTLSConfiguration.Identity,
        under path: String,
        file: String?
    ) -> String {
        let isCertificate = failedFile == identity.certificateFile
        guard file != nil else {
            return isCertificate ? "--tls-cert" : "--tls-key"
        }
        return "\(path).\(isCertificate ? "certificate" : "private_key")"
    }

    /// `server_tls:` as run and reload make it: its `ca` read, the context made and self-tested.
    private static func serverTLSProblem(
        _ service: VirtualServiceConfiguration,
        index: Int,
        file: String?
    ) -> ConfigurationError? {
        guard let serverTLS = service.serverTLS else { return nil }
        do {
            _ = try ServerTLSContext(configuration: serverTLS)
            return nil
        } catch {
            let key = error.file == serverTLS.caFile ? "server_tls.ca" : "server_tls"
            return ConfigurationError(
                code: .invalidValue, file: file, path: "virtual_services[\(index)].\(key)", message: error.description
            )
        }
    }
}
