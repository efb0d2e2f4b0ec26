import FTPProtocol

extension ConfigurationLoader {
    /// `ftplb run`'s quick-form flags that have no place in `quick(...)`'s virtual service:
    /// `--shutdown-grace` (as `shutdown_grace`) and `--admin` (as `admin.listen`; loopback or
    /// `none`, since a flag has no token to protect a wider listener).
    package static func applyQuickRunFlags(
        shutdownGrace: String?,
        admin: String?,
        to configuration: inout BalancerConfiguration
    ) throws(ConfigurationError) {
        if let shutdownGrace {
            do {
                configuration.shutdownGrace = try ConfigurationValueParser.durationOrZero(shutdownGrace)
            } catch {
                throw ConfigurationLocation.flag("--shutdown-grace").error(.invalidValue, error.message)
            }
        }
        guard let admin else { return }
        let location = ConfigurationLocation.flag("--admin")
        let listen: (endpoint: Endpoint, address: IPAddress)?
        do {
            listen = try ConfigurationValueParser.adminListen(admin)
        } catch {
            throw location.error(.invalidValue, error.message)
        }
        if let listen, !listen.address.isLoopback {
            throw location.error(
                .invalidValue,
                "the admin API on \(listen.endpoint) would be reachable from other hosts without a token; "
                    + "listen on a loopback address such as \(AdminConfiguration.defaultListen), "
                    + "or use a configuration file with admin.token"
            )
        }
        configuration.admin = AdminConfiguration(listen: listen?.endpoint, mustListen: listen != nil)
    }
}
