#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// IP_TRANSPARENT and IPV6_TRANSPARENT: a socket with it may bind an address this host does not
/// own (the client's), and receives the packets the host's policy routing delivers to it.
/// Setting it needs CAP_NET_ADMIN.
package enum TransparentSocket {
    /// From <linux/in.h> and <linux/in6.h>; Glibc does not export them to Swift everywhere.
    static let ipTransparent: CInt = 19
    static let ipv6Transparent: CInt = 75

    /// The option for a socket of `address`'s family.
    static func option(for address: SocketAddress) -> ChannelOptions.Types.SocketOption {
        if case .v6 = address {
            return ChannelOptions.Types.SocketOption(level: .ipv6, name: NIOBSDSocket.Option(rawValue: Self.ipv6Transparent))
        }
        return ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: Self.ipTransparent))
    }

    /// A connection to a server from the client's address: IP_TRANSPARENT, and SO_REUSEADDR.
    /// The client picks its PORT/EPRT data port in its own network stack, unaware of the
    /// ports this host gives out on the client's address, so the kernel may have given that
    /// very port to one of these connections; with SO_REUSEADDR on both, the active-mode
    /// listener can still take it. The ephemeral port chosen here still avoids every port in
    /// use on the address.
    static func outgoing(_ bootstrap: ClientBootstrap, from address: SocketAddress) -> ClientBootstrap {
        bootstrap
            .channelOption(Self.option(for: address), value: 1)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
    }

    /// Nil when this process may make IPv4 sockets transparent, else why not (the errno text).
    package static func permissionProblem() -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        defer { close(descriptor) }
        var one: CInt = 1
        guard setsockopt(descriptor, CInt(IPPROTO_IP), Self.ipTransparent, &one, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            return String(cString: strerror(errno))
        }
        return nil
    }
}
