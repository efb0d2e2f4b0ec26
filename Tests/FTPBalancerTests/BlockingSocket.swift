#if os(Linux)
import Glibc
import NIOCore

/// A plain blocking TCP socket on loopback, for tests that drive a data path from threads of
/// their own: every call is bounded by the socket's send and receive timeouts.
final class BlockingSocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var errno: CInt
        var description: String { "\(self.call): \(String(cString: strerror(self.errno)))" }
    }

    let descriptor: CInt
    private var closed = false

    private init(descriptor: CInt) {
        self.descriptor = descriptor
    }

    deinit {
        if !self.closed { Glibc.close(self.descriptor) }
    }

    /// A socket with send and receive timeouts of `timeout`.
    private static func make(timeout: TimeAmount) throws -> BlockingSocket {
        let descriptor = socket(AF_INET, CInt(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(call: "socket", errno: errno) }
        let socket = BlockingSocket(descriptor: descriptor)
        try socket.setTimeouts(timeout)
        return socket
    }

    func setTimeouts(_ timeout: TimeAmount) throws {
        var time = timeval(
            tv_sec: Int(timeout.nanoseconds / 1_000_000_000),
            tv_usec: Int(timeout.nanoseconds % 1_000_000_000 / 1000)
        )
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            guard setsockopt(self.descriptor, SOL_SOCKET, option, &time, socklen_t(MemoryLayout<timeval>.size)) == 0
            else {
                throw Failure(call: "setsockopt", errno: errno)
            }
        }
    }

    func setOption(_ name: CInt, _ value: CInt) throws {
        var value = value
        guard setsockopt(self.descriptor, SOL_SOCKET, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            throw Failure(call: "setsockopt", errno: errno)
        }
    }

    /// A listener on `host`, port chosen by the kernel.
    static func listen(host: String = "127.0.0.1", timeout: TimeAmount = .seconds(10)) throws -> BlockingSocket {
        let socket = try Self.make(timeout: timeout)
        try SocketAddress(ipAddress: host, port: 0).withSockAddr { pointer, length in
            guard Glibc.bind(socket.descriptor, pointer, socklen_t(length)) == 0 else {
                throw Failure(call: "bind", errno: errno)
            }
        }
        guard Glibc.listen(socket.descriptor, 8) == 0 else { throw Failure(call: "listen", errno: errno) }
        return socket
    }

    /// Connects to `host`:`port` from `source`.
    static func connect(
        to port: Int,
        host: String = "127.0.0.1",
        from source: String = "127.0.0.1",
        timeout: TimeAmount = .seconds(10),
        receiveBuffer: CInt? = nil
    ) throws -> BlockingSocket {
        let socket = try Self.make(timeout: timeout)
        if let receiveBuffer { try socket.setOption(SO_RCVBUF, receiveBuffer) }
        try SocketAddress(ipAddress: source, port: 0).withSockAddr { pointer, length in
            guard Glibc.bind(socket.descriptor, pointer, socklen_t(length)) == 0 else {
                throw Failure(call: "bind", errno: errno)
            }
        }
        try SocketAddress(ipAddress: host, port: port).withSockAddr { pointer, length in
            guard Glibc.connect(socket.descriptor, pointer, socklen_t(length)) == 0 else {
                throw Failure(call: "connect", errno: errno)
            }
        }
        return socket
    }

    var port: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(self.descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The next connection, within the receive timeout.
    func accept() throws -> BlockingSocket {
        let descriptor = Glibc.accept(self.descriptor, nil, nil)
        guard descriptor >= 0 else { throw Failure(call: "accept", errno: errno) }
        let socket = BlockingSocket(descriptor: descriptor)
        try socket.setTimeouts(TimeAmount.seconds(10))
        return socket
    }

    /// Sends all of `bytes`; throws on a timeout or error.
    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = Glibc.send(
                self.descriptor,
                bytes.baseAddress! + offset,
                bytes.count - offset,
                CInt(MSG_NOSIGNAL)
            )
            if sent < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "send", errno: errno)
            }
            offset += sent
        }
    }

    /// Up to `count` bytes into `buffer`; 0 at end of input; throws on a timeout or error.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = recv(self.descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw Failure(call: "recv", errno: errno)
        }
    }

    /// Reads to the end of input: how many bytes came, and their checksum.
    func receiveToEnd() throws -> StreamDigest {
        var digest = StreamDigest()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = try self.receive(into: buffer)
            if count == 0 { return digest }
            digest.add(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Sends `count` bytes of `StreamDigest.pattern`; their checksum.
    @discardableResult
    func sendPattern(count: Int) throws -> StreamDigest {
        var digest = StreamDigest()
        let block = StreamDigest.patternBlock
        var left = count
        try block.withUnsafeBytes { bytes in
            while left > 0 {
                let part = UnsafeRawBufferPointer(rebasing: bytes[..<min(left, bytes.count)])
                try self.send(part)
                digest.add(part)
                left -= part.count
            }
        }
        return digest
    }

    func shutdownOutput() {
        _ = Glibc.shutdown(self.descriptor, CInt(SHUT_WR))
    }

    /// Closes with a reset (SO_LINGER of zero) rather than an end of input.
    func reset() throws {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        guard
            setsockopt(self.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size)) == 0
        else {
            throw Failure(call: "setsockopt", errno: errno)
        }
        self.close()
    }

    func close() {
        guard !self.closed else { return }
        self.closed = true
        Glibc.close(self.descriptor)
    }
}

/// The length and an order-sensitive checksum (FNV-1a, 64 bits) of a byte stream.
struct StreamDigest: Equatable, Sendable {
    var count = 0
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var hash = self.hash
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0100_0000_01b3
        }
        self.hash = hash
        self.count += bytes.count
    }

    /// 1 MiB that is not a multiple of any short period, repeated by senders: a lost, duplicated
    /// or reordered block changes the checksum.
    static let patternBlock: [UInt8] = (0..<((1 << 20) + 7)).map {
        UInt8(truncatingIfNeeded: ($0 &* 7) ^ ($0 >> 8) ^ ($0 >> 16))
    }
}
#endif
