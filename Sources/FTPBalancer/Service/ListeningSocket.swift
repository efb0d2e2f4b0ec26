import FTPBalancerConfig
import FTPDataPlane
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket made here rather than by a SwiftNIO bootstrap, so that this process
/// knows its descriptor and can hand it to a successor on an upgrade (SwiftNIO gives none back).
package enum ListeningSocket {
    /// The backlog of every listener: bursts of new sessions wait in the kernel, not refused.
    static let backlog: CInt = 1024

    /// A socket listening on `endpoint`, with SO_REUSEADDR (a restart binds at once, whatever
    /// TIME_WAIT connections remain), IP_FREEBIND when `freebind`, IPV6_V6ONLY when `ipv6Only`.
    /// Never SO_REUSEPORT: a second process binding the same port would take half the clients.
    package static func open(_ endpoint: Endpoint, freebind: Bool, ipv6Only: Bool) throws -> CInt {
        let address = try SocketAddress(ipAddress: endpoint.host, port: endpoint.port)
        let descriptor = try SpliceSocket.make(for: address)
        try SpliceSocket.setOption(descriptor, level: SOL_SOCKET, name: SO_REUSEADDR)
        if freebind {
            try SpliceSocket.setFreebind(descriptor, for: address)
        }
        if ipv6Only {
            try SpliceSocket.setOption(descriptor, level: CInt(IPPROTO_IPV6), name: CInt(IPV6_V6ONLY))
        }
        try SpliceSocket.bind(descriptor, to: address)
        try SpliceSocket.listen(descriptor, backlog: Self.backlog)
        return descriptor.release()
    }
}
