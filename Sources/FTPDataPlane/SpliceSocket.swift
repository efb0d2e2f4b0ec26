#if os(Linux)
import CSplice
import Glibc

/// A connection `accept` took, and its peer (nil for a family not IPv4 or IPv6).
package struct AcceptedConnection: ~Copyable {
    package var socket: Descriptor
    package var peer: SpliceAddress?

    /// The socket alone, once the peer has been read.
    package consuming func takeSocket() -> Descriptor {
        self.socket
    }
}

/// The socket calls of the splice data path: nonblocking, close-on-exec TCP sockets made,
/// bound, connected and accepted here, since SwiftNIO cannot hand a descriptor over.
package enum SpliceSocket {
    /// A new TCP socket for `address`'s family.
    package static func make(for address: SpliceAddress) throws(SystemCallError) -> Descriptor {
        let descriptor = csplice_tcp_socket(address.isIPv6 ? AF_INET6 : AF_INET)
        guard descriptor >= 0 else { throw SystemCallError("socket") }
        return Descriptor(descriptor)
    }

    package static func setOption(
        _ descriptor: borrowing Descriptor,
        level: CInt,
        name: CInt,
        value: CInt = 1
    ) throws(SystemCallError) {
        var value = value
        guard setsockopt(descriptor.raw, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            throw SystemCallError("setsockopt(\(level), \(name))")
        }
    }

    /// The socket's close sends RST, not FIN: a cut transfer must not look complete to the peer.
    package static func resetOnClose(_ descriptor: CInt) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    }

    package static func bind(_ descriptor: borrowing Descriptor, to address: SpliceAddress) throws(SystemCallError) {
        let raw = descriptor.raw
        let result = address.withSockAddr { Glibc.bind(raw, $0, $1) }
        guard result == 0 else { throw SystemCallError("bind \(address)") }
    }

    package static func listen(_ descriptor: borrowing Descriptor, backlog: CInt) throws(SystemCallError) {
        guard Glibc.listen(descriptor.raw, backlog) == 0 else { throw SystemCallError("listen") }
    }

    /// Starts a connect; true if it completed at once, false if it is in progress (the socket
    /// becomes writable when it ends, and `pendingError` tells how).
    @discardableResult
    package static func connect(
        _ descriptor: borrowing Descriptor,
        to address: SpliceAddress
    ) throws(SystemCallError) -> Bool {
        let raw = descriptor.raw
        let result = address.withSockAddr { Glibc.connect(raw, $0, $1) }
        if result == 0 { return true }
        guard errno == EINPROGRESS else { throw SystemCallError("connect \(address)") }
        return false
    }

    /// The next pending connection and its peer, or nil when there is none now.
    package static func accept(_ descriptor: CInt) throws(SystemCallError) -> AcceptedConnection? {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let accepted = csplice_accept(descriptor, &storage, &length)
            if accepted >= 0 {
                return AcceptedConnection(socket: Descriptor(accepted), peer: SpliceAddress(storage: storage))
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
    package static func pendingError(_ descriptor: CInt) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &value, &length) == 0 else { return errno }
        return value
    }

    /// getsockname and getpeername as the kernel answers them; the core makes them into its
    /// own address type (and text) only when someone reads them.
    package static func localAddress(_ descriptor: CInt) -> SpliceAddress? {
        SpliceAddress(query: { getsockname(descriptor, $0, $1) })
    }

    package static func remoteAddress(_ descriptor: CInt) -> SpliceAddress? {
        SpliceAddress(query: { getpeername(descriptor, $0, $1) })
    }

    /// TCP_INFO of `descriptor`, or nil if the socket cannot say.
    package static func tcpInfo(_ descriptor: CInt) -> csplice_tcp_info? {
        var info = csplice_tcp_info()
        return csplice_tcp_info_read(descriptor, &info) == 0 ? info : nil
    }
}
#endif
