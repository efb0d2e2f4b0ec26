import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// IP_FREEBIND and IPV6_FREEBIND (`listen_freebind: true`): a socket may bind an address this
/// host does not hold yet. The standby of a keepalived pair listens on the VIP before VRRP
/// gives it the address, and its passive listeners and port-20 source work the moment it does.
/// Unlike `net.ipv4.ip_nonlocal_bind` it changes this process's sockets only, and needs no
/// privilege.
package enum FreebindSocket {
    /// From <linux/in.h> and <linux/in6.h>; Glibc does not export them to Swift everywhere.
    static let ipFreebind: CInt = 15
    static let ipv6Freebind: CInt = 78

    /// The level and name of the option for a socket of `address`'s family.
    static func levelAndName(for address: SocketAddress) -> (level: CInt, name: CInt) {
        if case .v6 = address {
            return (CInt(IPPROTO_IPV6), Self.ipv6Freebind)
        }
        return (CInt(IPPROTO_IP), Self.ipFreebind)
    }

    /// The option for a SwiftNIO bootstrap.
    static func option(for address: SocketAddress) -> ChannelOptions.Types.SocketOption {
        let (level, name) = Self.levelAndName(for: address)
        return ChannelOptions.Types.SocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: level),
            name: NIOBSDSocket.Option(rawValue: name)
        )
    }

    /// The option for the socket a host and port would be bound to; nil for a host that is not
    /// an IP literal (the bind then fails with its own message).
    static func option(forHost host: String) -> ChannelOptions.Types.SocketOption? {
        guard let address = try? SocketAddress(ipAddress: host, port: 0) else { return nil }
        return Self.option(for: address)
    }
}
