#if os(Linux)
import Glibc

/// An IPv4 or IPv6 socket address as the kernel takes and gives it. The plane knows no other
/// address type; the core converts its own to and from this one.
package struct SpliceAddress: Sendable, CustomStringConvertible {
    private var storage: sockaddr_storage

    /// From what accept, getsockname or getpeername filled in; nil for another family.
    package init?(storage: sockaddr_storage) {
        let family = CInt(storage.ss_family)
        guard family == AF_INET || family == AF_INET6 else { return nil }
        self.storage = storage
    }

    package init(_ address: sockaddr_in) {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee = address }
        }
        self.storage = storage
    }

    package init(_ address: sockaddr_in6) {
        var storage = sockaddr_storage()
        withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee = address }
        }
        self.storage = storage
    }

    /// An IPv4 literal and a port, for callers with no address type of their own.
    package init?(ipv4 text: String, port: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(clamping: port)).bigEndian
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { return nil }
        self.init(address)
    }

    init?(query: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { query($0, &length) }
        }
        guard result == 0 else { return nil }
        self.init(storage: storage)
    }

    package var isIPv6: Bool { CInt(self.storage.ss_family) == AF_INET6 }

    /// The IPv4 form, or nil for IPv6.
    package var ipv4: sockaddr_in? {
        guard !self.isIPv6 else { return nil }
        return self.withStorage(as: sockaddr_in.self) { $0 }
    }

    /// The IPv6 form, or nil for IPv4.
    package var ipv6: sockaddr_in6? {
        guard self.isIPv6 else { return nil }
        return self.withStorage(as: sockaddr_in6.self) { $0 }
    }

    package var port: Int {
        if let v6 = self.ipv6 { return Int(UInt16(bigEndian: v6.sin6_port)) }
        return Int(UInt16(bigEndian: self.ipv4?.sin_port ?? 0))
    }

    /// The address as bind(2) and connect(2) take it.
    func withSockAddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        let length = self.isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }

    /// For error messages: the host in the family's text form and the port.
    package var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if var v6 = self.ipv6 {
            inet_ntop(AF_INET6, &v6.sin6_addr, &text, socklen_t(text.count))
            return "[\(Self.text(text))]:\(self.port)"
        }
        var v4 = self.ipv4 ?? sockaddr_in()
        inet_ntop(AF_INET, &v4.sin_addr, &text, socklen_t(text.count))
        return "\(Self.text(text)):\(self.port)"
    }

    private static func text(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func withStorage<Family, Result>(as family: Family.Type, _ body: (Family) -> Result) -> Result {
        var storage = self.storage
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: Family.self, capacity: 1) { body($0.pointee) }
        }
    }
}
#endif
