#if os(Linux)
import FTPDataPlane
import FTPProtocol
import Glibc
import Logging
import NIOCore

/// The core's side of the plane's sockets: its addresses are SwiftNIO's, and the socket options
/// that are FTP policy (transparent sockets, `listen_freebind`) are chosen here.
extension SpliceAddress {
    /// The plane's form of an IP address; an error for a Unix-domain one.
    static func from(_ address: SocketAddress) throws(SystemCallError) -> SpliceAddress {
        switch address {
        case .v4(let v4): return SpliceAddress(v4.address)
        case .v6(let v6): return SpliceAddress(v6.address)
        default: throw SystemCallError("socket", errno: EAFNOSUPPORT)
        }
    }

    /// A peer's host in the canonical form the data listeners compare with, "?" when unknown.
    static func canonicalHost(_ peer: SpliceAddress?) -> String {
        // IPv4, as nearly every data connection is: its dotted quad, which is inet_ntop's and
        // so the canonical text, without a SwiftNIO address made and printed per connection.
        if let v4 = peer?.ipv4 {
            let octets = withUnsafeBytes(of: v4.sin_addr.s_addr) { Array($0) }
            return "\(octets[0]).\(octets[1]).\(octets[2]).\(octets[3])"
        }
        return peer?.socketAddress.flatMap(IPAddress.canonical) ?? "?"
    }

    var socketAddress: SocketAddress? {
        if let v6 = self.ipv6 { return SocketAddress(v6) }
        return self.ipv4.map { SocketAddress($0) }
    }
}

extension TimeAmount {
    /// The plane's form of a timeout.
    var duration: Duration { .nanoseconds(self.nanoseconds) }
}

extension SpliceAcceptRetry {
    /// A data listener's accept loop that says, once, that accepting failed.
    convenience init(loop: SpliceEventLoop, logger: Logger, port: @escaping () -> Int) {
        self.init(loop: loop) { error in
            logger.warning(
                "accept failed on a data listener; trying again every 100 ms until it times out",
                metadata: ["ftp.port": "\(port())", "ftp.error": "\(OperatorText.describe(error))"]
            )
        }
    }
}

extension SpliceSocket {
    static func make(for address: SocketAddress) throws(SystemCallError) -> Descriptor {
        try Self.make(for: SpliceAddress.from(address))
    }

    static func bind(_ descriptor: borrowing Descriptor, to address: SocketAddress) throws(SystemCallError) {
        try Self.bind(descriptor, to: SpliceAddress.from(address))
    }

    static func connect(_ descriptor: borrowing Descriptor, to address: SocketAddress) throws(SystemCallError) {
        try Self.connect(descriptor, to: SpliceAddress.from(address))
    }

    /// IP_TRANSPARENT or IPV6_TRANSPARENT, as `TransparentSocket` chooses them, and SO_REUSEADDR:
    /// every socket of ours on the client's address needs it, so that an active-mode listener
    /// can take the client's port even when one of our connections holds it, or an earlier
    /// transfer left it in TIME_WAIT (see `TransparentSocket.outgoing`).
    static func makeTransparent(_ descriptor: borrowing Descriptor, for address: SocketAddress) throws(SystemCallError) {
        if case .v6 = address {
            try Self.setOption(descriptor, level: CInt(IPPROTO_IPV6), name: TransparentSocket.ipv6Transparent)
        } else {
            try Self.setOption(descriptor, level: CInt(IPPROTO_IP), name: TransparentSocket.ipTransparent)
        }
        try Self.setOption(descriptor, level: SOL_SOCKET, name: SO_REUSEADDR)
    }

    /// IP_FREEBIND or IPV6_FREEBIND (`listen_freebind`): bind an address the host does not hold yet.
    static func setFreebind(_ descriptor: borrowing Descriptor, for address: SocketAddress) throws(SystemCallError) {
        let (level, name) = FreebindSocket.levelAndName(for: address)
        try Self.setOption(descriptor, level: level, name: name)
    }

    /// A socket's own address, as SwiftNIO's type.
    static func localSocketAddress(_ descriptor: CInt) -> SocketAddress? {
        Self.localAddress(descriptor)?.socketAddress
    }

    /// A listening socket for `address`, with SO_REUSEADDR when `reuseAddress`, IP_FREEBIND when
    /// `freebind`, transparent when `transparent`.
    static func listening(
        on address: SocketAddress,
        reuseAddress: Bool = false,
        freebind: Bool = false,
        transparent: Bool = false
    ) throws(SystemCallError) -> Descriptor {
        let descriptor = try Self.make(for: address)
        try Self.setOptions(descriptor, for: address, reuseAddress: reuseAddress, freebind: freebind, transparent: transparent)
        try Self.bind(descriptor, to: address)
        try Self.listen(descriptor, backlog: 4)
        return descriptor
    }

    /// A socket with its connect to `destination` started from `source`, with the options of
    /// `listening` chosen for `source`.
    static func connecting(
        to destination: SocketAddress,
        from source: SocketAddress,
        reuseAddress: Bool = false,
        freebind: Bool = false,
        transparent: Bool = false
    ) throws(SystemCallError) -> Descriptor {
        let descriptor = try Self.make(for: destination)
        try Self.setOptions(descriptor, for: source, reuseAddress: reuseAddress, freebind: freebind, transparent: transparent)
        try Self.bind(descriptor, to: source)
        try Self.connect(descriptor, to: destination)
        return descriptor
    }

    private static func setOptions(
        _ descriptor: borrowing Descriptor,
        for local: SocketAddress,
        reuseAddress: Bool,
        freebind: Bool,
        transparent: Bool
    ) throws(SystemCallError) {
        if reuseAddress {
            try Self.setOption(descriptor, level: SOL_SOCKET, name: SO_REUSEADDR)
        }
        if freebind {
            try Self.setFreebind(descriptor, for: local)
        }
        if transparent {
            try Self.makeTransparent(descriptor, for: local)
        }
    }
}
#endif
