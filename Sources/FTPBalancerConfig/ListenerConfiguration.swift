import FTPProtocol

/// One listening address of a virtual service and the address its clients are told to connect
/// to: a service with `listen: [10.0.0.1:21, "[2001:db8::10]:21"]` has two, one per family.
package struct ListenerConfiguration: Hashable, Sendable {
    package var endpoint: Endpoint
    /// Written into PASV/EPSV replies to clients of this listener, and the source of active-mode
    /// data connections to them: of the listener's family.
    package var advertisedAddress: String

    package init(endpoint: Endpoint, advertisedAddress: String) {
        self.endpoint = endpoint
        self.advertisedAddress = advertisedAddress
    }
}

extension VirtualServiceConfiguration {
    /// Every listener of the service, `listen` first.
    package var listeners: [ListenerConfiguration] {
        [ListenerConfiguration(endpoint: self.listen, advertisedAddress: self.advertisedAddress)] + self.otherListeners
    }

    /// The advertised address for a client that reached the service at `localHost` (canonical,
    /// an IPv4-mapped address written as IPv4) on `port`: that listener's, or for a wildcard
    /// listener the first of its family.
    package func advertisedAddress(forLocalHost localHost: String, port: Int) -> String {
        // One listener, as nearly every service has: whichever it matched, the answer is its
        // address, without the list and the parsing below (this runs for every session).
        guard !self.otherListeners.isEmpty else { return self.advertisedAddress }
        let isIPv6 = localHost.utf8.contains(UInt8(ascii: ":"))
        let listeners = self.listeners.filter { $0.endpoint.port == port }
        let exact = listeners.first { IPAddress.canonical($0.endpoint.host) == localHost }
        let sameFamily = listeners.first { $0.advertisedAddress.utf8.contains(UInt8(ascii: ":")) == isIPv6 }
        return (exact ?? sameFamily ?? listeners.first)?.advertisedAddress ?? self.advertisedAddress
    }
}
