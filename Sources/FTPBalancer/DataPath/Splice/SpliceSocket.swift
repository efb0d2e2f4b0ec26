#if os(Linux)
import CSplice
import Glibc
import NIOCore

/// The socket calls of the splice data path: nonblocking, close-on-exec TCP sockets made,
/// bound, connected and accepted here, since SwiftNIO cannot hand a descriptor over.
enum SpliceSocket {
    /// A new TCP socket for `address`'s family.
    static func make(for address: SocketAddress) throws(SystemCallError) -> CInt {
        let family: CInt
        switch address {
        case .v6: family = AF_INET6
        default: family = AF_INET
        }
        let descriptor = csplice_tcp_socket(family)
        guard descriptor >= 0 else { throw SystemCallError("socket") }
        return descriptor
    }

    static func setOption(_ descriptor: CInt, level: CInt, name: CInt, value: CInt = 1) throws(SystemCallError) {
        var value = value
        guard setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            throw SystemCallError("setsockopt(\(level), \(name))")
        }
    }

    /// IP_TRANSPARENT or IPV6_TRANSPARENT, as `TransparentSocket` chooses them, and SO_REUSEADDR:
    /// every socket of ours on the client's address needs it, so that an active-mode listener
    /// can take the client's port even when one of our connections holds it, or an earlier
    /// transfer left it in TIME_WAIT (see `TransparentSocket.outgoing`).
    static func makeTransparent(_ descriptor: CInt, for address: SocketAddress) throws(SystemCallError) {
        if case .v6 = address {
            try Self.setOption(descriptor, level: CInt(IPPROTO_IPV6), name: TransparentSocket.ipv6Transparent)
        } else {
            try Self.setOption(descriptor, level: CInt(IPPROTO_IP), name: TransparentSocket.ipTransparent)
        }
        try Self.setOption(descriptor, level: SOL_SOCKET, name: SO_REUSEADDR)
    }

    /// IP_FREEBIND or IPV6_FREEBIND (`listen_freebind`): bind an address the host does not hold yet.
    static func setFreebind(_ descriptor: CInt, for address: SocketAddress) throws(SystemCallError) {
        let (level, name) = FreebindSocket.levelAndName(for: address)
        try Self.setOption(descriptor, level: level, name: name)
    }

    static func bind(_ descriptor: CInt, to address: SocketAddress) throws(SystemCallError) {
        let result = address.withSockAddr { pointer, length in
            Glibc.bind(descriptor, pointer, socklen_t(length))
        }
        guard result == 0 else { throw SystemCallError("bind \(address.logDescription)") }
    }

    static func listen(_ descriptor: CInt, backlog: CInt) throws(SystemCallError) {
        guard Glibc.listen(descriptor, backlog) == 0 else { throw SystemCallError("listen") }
    }

    /// Starts a connect; true if it completed at once, false if it is in progress (the socket
    /// becomes writable when it ends, and `pendingError` tells how).
    static func connect(_ descriptor: CInt, to address: SocketAddress) throws(SystemCallError) -> Bool {
        let result = address.withSockAddr { pointer, length in
            Glibc.connect(descriptor, pointer, socklen_t(length))
        }
        if result == 0 { return true }
        guard errno == EINPROGRESS else { throw SystemCallError("connect \(address.logDescription)") }
        return false
    }

    /// The next pending connection and its peer, or nil when there is none now.
    static func accept(_ descriptor: CInt) throws(SystemCallError) -> (descriptor: CInt, peer: SocketAddress?)? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = csplice_accept(descriptor, &storage, &length)
            if accepted >= 0 {
                return (accepted, Self.address(storage))
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: return nil
            // The connection went away before it was accepted: try the next.
            case EINTR, ECONNABORTED, EPROTO: continue
            default: throw SystemCallError("accept4")
            }
        }
    }

    /// SO_ERROR: the outcome of a connect, or an error the socket holds; 0 for none.
    static func pendingError(_ descriptor: CInt) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    static func localAddress(_ descriptor: CInt) -> SocketAddress? {
        Self.rawLocalAddress(descriptor)?.address
    }

    /// getsockname and getpeername as the kernel answers them, made into a `SocketAddress` (and
    /// its text) only when someone reads it.
    static func rawLocalAddress(_ descriptor: CInt) -> RawAddress? {
        RawAddress { getsockname(descriptor, $0, $1) }
    }

    static func rawRemoteAddress(_ descriptor: CInt) -> RawAddress? {
        RawAddress { getpeername(descriptor, $0, $1) }
    }

    struct RawAddress: Sendable {
        private var storage: sockaddr_storage

        fileprivate init?(_ query: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt) {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { query($0, &length) }
            }
            guard result == 0 else { return nil }
            self.storage = storage
        }

        var address: SocketAddress? { SpliceSocket.address(self.storage) }
    }

    private static func address(_ storage: sockaddr_storage) -> SocketAddress? {
        var storage = storage
        return withUnsafePointer(to: &storage) { pointer in
            switch CInt(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee) }
            default:
                return nil
            }
        }
    }
}
#endif
