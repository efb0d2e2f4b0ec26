/// Where the admin HTTP API listens and what it asks of a caller. The API can disable servers
/// and reload the configuration, so anything beyond loopback must carry a token.
package struct AdminConfiguration: Equatable, Sendable {
    package static let defaultListen = Endpoint(host: "127.0.0.1", port: 9021)

    /// Nil when the API is switched off (`listen: none`).
    package var listen: Endpoint?
    /// The bearer token every request must carry; nil asks for none (loopback only).
    package var token: String?
    /// The operator wrote `admin.listen`: if it cannot be opened the balancer does not start.
    /// The default address is best effort, so that two balancers on one host still start.
    package var mustListen: Bool

    package init(listen: Endpoint? = AdminConfiguration.defaultListen, token: String? = nil, mustListen: Bool = false) {
        self.listen = listen
        self.token = token
        self.mustListen = mustListen
    }
}
