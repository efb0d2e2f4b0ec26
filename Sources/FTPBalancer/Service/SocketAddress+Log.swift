import NIOCore

extension SocketAddress {
    /// `192.0.2.1:21` or `[2001:db8::1]:21`, as operators write addresses.
    var logDescription: String {
        guard let ip = self.ipAddress, let port = self.port else { return "\(self)" }
        return self.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}

extension Optional where Wrapped == SocketAddress {
    var logDescription: String { self?.logDescription ?? "?" }
}
