import FTPBalancerConfig
import Logging

extension VirtualService {
    /// The pool's `server_tls:` context, or why it cannot be used, naming the file.
    package static func loadServerTLS(
        _ configuration: VirtualServiceConfiguration,
        logger: Logger
    ) throws(BalancerError) -> ServerTLSContext? {
        guard let serverTLS = configuration.serverTLS else { return nil }
        if !serverTLS.verify {
            logger.warning(
                "server_tls.verify is false: the servers' certificates are not verified",
                metadata: ["ftp.service": "\(configuration.name)"]
            )
        }
        do {
            return try ServerTLSContext(configuration: serverTLS)
        } catch {
            throw BalancerError(.tlsUnavailable, "virtual service \(configuration.name): server_tls: \(error)")
        }
    }
}
