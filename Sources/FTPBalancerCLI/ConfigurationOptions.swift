import ArgumentParser
import FTPBalancerConfig

/// Where a command's configuration comes from: `--config FILE`, or the quick flags describing
/// one virtual service. Shared by `run` and `setup-transparent`, which must agree on both.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Quick form: the address and port to listen on (IP:PORT).")
    var listen: String?

    @Option(name: .long, help: "Quick form: a server of the pool (IP:PORT); repeat for more.")
    var server: [String] = []

    @Option(name: .long, help: "Quick form: the passive port range (FIRST-LAST).")
    var passivePorts: String?

    @Option(name: .long, help: "Quick form: the address written into PASV/EPSV replies (default: the listen address).")
    var advertise: String?

    @Option(name: .long, help: "Quick form: the local address for connections to the servers.")
    var sourceAddress: String?

    @Option(name: .long, help: "Quick form: the source port of active-mode data connections (default 20; 0: any).")
    var activeSourcePort: Int?

    @Option(name: .long, help: "Quick form: round_robin (default), weighted_round_robin, least_connections, source_ip_hash, least_response_time or per_user.")
    var algorithm: String?

    @Option(name: .long, help: "Quick form: the health check: none, tcp or ftp (default).")
    var healthCheck: String?

    @Option(
        name: .long,
        help: "Quick form: how servers learn the client's address: none (default), proxy_protocol_v1, proxy_protocol_v2 or transparent."
    )
    var clientAddress: String?

    @Option(name: .long, help: "Quick form: FTPS towards the clients: the certificate chain (PEM, leaf first); needs --tls-key.")
    var tlsCert: String?

    @Option(name: .long, help: "Quick form: the private key of --tls-cert (PEM, without a passphrase).")
    var tlsKey: String?

    @Flag(name: .long, help: "Quick form: implicit FTPS (TLS from connect, as on port 990) instead of AUTH TLS.")
    var tlsImplicit = false

    /// The validated configuration, from the file or from the quick flags.
    func load() throws -> BalancerConfiguration {
        if let file = self.config {
            guard self.listen == nil, self.server.isEmpty, self.passivePorts == nil, self.advertise == nil,
                self.sourceAddress == nil, self.activeSourcePort == nil, self.algorithm == nil,
                self.healthCheck == nil, self.clientAddress == nil, self.tlsCert == nil, self.tlsKey == nil,
                !self.tlsImplicit
            else {
                throw ValidationError("use either --config or the quick flags, not both")
            }
            return try ConfigurationLoader.load(path: file)
        }
        guard let listen = self.listen, let passivePorts = self.passivePorts else {
            throw ValidationError("give --config FILE, or --listen, --server and --passive-ports")
        }
        return try ConfigurationLoader.quick(
            listen: listen,
            servers: self.server,
            passivePorts: passivePorts,
            advertise: self.advertise,
            sourceAddress: self.sourceAddress,
            activeSourcePort: self.activeSourcePort,
            logLevel: nil,
            algorithm: self.algorithm,
            healthCheck: self.healthCheck,
            clientAddress: self.clientAddress,
            tlsCertificate: self.tlsCert,
            tlsPrivateKey: self.tlsKey,
            tlsImplicit: self.tlsImplicit
        )
    }
}
