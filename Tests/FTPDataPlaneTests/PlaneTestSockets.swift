import FTPDataPlane
import Glibc
import Synchronization

/// Blocking loopback sockets for the relay's tests, each read and write bounded by a timeout
/// so that a broken relay fails a test instead of hanging it.
final class TestSocket: Sendable {
    let socket: Descriptor

    init(socket: consuming Descriptor) {
        self.socket = socket
    }

    struct Failure: Error, CustomStringConvertible {
        var call: String
        var errno: CInt
        var description: String { "\(self.call) failed: errno \(self.errno)" }
    }

    /// Two connected pairs on 127.0.0.1, the kernel choosing the ports: one end of each for
    /// the relay (nonblocking), one for the test.
    static func pair() throws -> SocketPair {
        let loopback = SpliceAddress(ipv4: "127.0.0.1", port: 0)!
        let listening = try SpliceSocket.make(for: loopback)
        try SpliceSocket.bind(listening, to: loopback)
        try SpliceSocket.listen(listening, backlog: 1)
        let bound = SpliceSocket.localAddress(listening.raw)!
        let connecting = try SpliceSocket.make(for: bound)
        try SpliceSocket.connect(connecting, to: bound)
        var accepted: AcceptedConnection?
        for _ in 0..<1000 where accepted == nil {
            accepted = try SpliceSocket.accept(listening.raw)
            if accepted == nil { usleep(1000) }
        }
        guard let accepted = accepted.take() else { throw Failure(call: "accept", errno: ETIMEDOUT) }
        let test = TestSocket(socket: accepted.takeSocket())
        try test.makeBlocking()
        return SocketPair(relaySide: connecting, testSide: test)
    }

    private func makeBlocking() throws {
        let flags = fcntl(self.socket.raw, F_GETFL)
        guard fcntl(self.socket.raw, F_SETFL, flags & ~O_NONBLOCK) == 0 else { throw Failure(call: "fcntl", errno: errno) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(self.socket.raw, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Sends `count` bytes of a pattern; what was sent.
    func send(_ count: Int) throws -> [UInt8] {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        var offset = 0
        while offset < count {
            let sent = bytes.withUnsafeBytes { buffer in
                Glibc.send(self.socket.raw, buffer.baseAddress! + offset, count - offset, CInt(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw Failure(call: "send", errno: errno) }
            offset += sent
        }
        return bytes
    }

    /// How many bytes came until the peer's end of input.
    func countToEnd() throws -> Int {
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(self.socket.raw, $0.baseAddress, $0.count, 0) }
            if count == 0 { return total }
            guard count > 0 else { throw Failure(call: "recv", errno: errno) }
            total += count
        }
    }

    /// Sends 64 KiB blocks until `limit` bytes or until the peer has held it for `patience`
    /// (the send timeout); how many bytes went.
    func sendUntilHeld(limit: Int, patience: Int) throws -> Int {
        var timeout = timeval(tv_sec: 0, tv_usec: patience * 1000)
        setsockopt(self.socket.raw, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let block = [UInt8](repeating: 0x5a, count: 1 << 16)
        var total = 0
        while total < limit {
            let sent = block.withUnsafeBytes { Glibc.send(self.socket.raw, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
            if sent < 0 {
                guard errno == EAGAIN else { throw Failure(call: "send", errno: errno) }
                return total
            }
            total += sent
        }
        return total
    }

    /// Everything until the peer's end of input.
    func receiveToEnd() throws -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(self.socket.raw, $0.baseAddress, $0.count, 0) }
            if count == 0 { return received }
            guard count > 0 else { throw Failure(call: "recv", errno: errno) }
            received += buffer[..<count]
        }
    }

    /// The errno that ended reading (ECONNRESET for a reset), or nil for a clean end of input.
    func readUntilEnd() -> CInt? {
        do {
            _ = try self.countToEnd()
            return nil
        } catch let failure as Failure {
            return failure.errno
        } catch {
            return EIO
        }
    }

    /// Closes the connection with RST, as a process killed with unread data does. The number
    /// stays taken (by an unconnected socket) until the descriptor's owner closes it.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(self.socket.raw, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        let placeholder = Glibc.socket(AF_INET, CInt(SOCK_STREAM.rawValue), 0)
        _ = dup2(placeholder, self.socket.raw)
        _ = Glibc.close(placeholder)
    }

    func shutdownOutput() {
        _ = Glibc.shutdown(self.socket.raw, CInt(SHUT_WR))
    }
}

/// A connection's two ends: the relay's, and the test's.
struct SocketPair: ~Copyable {
    var relaySide: Descriptor
    var testSide: TestSocket
}

/// What a relay reported, for a test to wait on.
final class RelayReport: Sendable {
    private let state = Mutex<SpliceRelayEnd?>(nil)
    private let counters = Mutex<SpliceRelayCounters?>(nil)

    func started(_ counters: SpliceRelayCounters) {
        self.counters.withLock { $0 = counters }
    }

    /// What the relay has moved to the client so far.
    var bytesToClient: Int {
        self.counters.withLock { $0?.toClient.load(ordering: .relaxed) ?? 0 }
    }

    func record(_ end: SpliceRelayEnd) {
        self.state.withLock { $0 = end }
    }

    /// The report, waiting up to 20 s for it.
    func wait() async throws -> SpliceRelayEnd? {
        for _ in 0..<2000 {
            if let end = self.state.withLock({ $0 }) { return end }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }
}

/// Runs `body` on a thread of its own (blocking socket calls stay off Swift's cooperative pool)
/// and waits for its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> TestThread<T> {
    try TestThread(body)
}

final class TestThread<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)

    init(_ body: @escaping @Sendable () throws -> T) throws {
        try startThread { [self] in
            let value = Result { try body() }
            self.result.withLock { $0 = value }
        }
    }

    /// The thread's result or its error, waiting for it (up to a minute) without blocking.
    func value() async throws -> T {
        for _ in 0..<12_000 {
            if let outcome = self.result.withLock({ $0 }) {
                return try outcome.get()
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestSocket.Failure(call: "the test's thread", errno: ETIMEDOUT)
    }
}

/// Runs `work` on a new detached thread.
private func startThread(_ work: @escaping @Sendable () -> Void) throws {
    final class Box {
        let work: @Sendable () -> Void
        init(_ work: @escaping @Sendable () -> Void) { self.work = work }
    }
    let context = Unmanaged.passRetained(Box(work)).toOpaque()
    var thread = pthread_t()
    let created = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().work()
        return nil
    }, context)
    guard created == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw TestSocket.Failure(call: "pthread_create", errno: created)
    }
    pthread_detach(thread)
}
