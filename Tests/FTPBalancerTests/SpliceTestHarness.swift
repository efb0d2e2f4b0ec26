#if os(Linux)
import CSplice
import FTPDataPlane
import Glibc
import Logging
import NIOCore
import NIOPosix

@testable import FTPBalancer

/// A splice data path on its own thread, an event loop standing in for a control session's, and
/// threads for the blocking test peers; all stopped afterwards whatever happens.
struct SpliceHarness: Sendable {
    let path: SpliceDataPath
    let eventLoop: any EventLoop
    let pool: NIOThreadPool

    static let logger = Logger(label: "ftp.test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs blocking `body` on a thread of its own; its result when it ends.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> EventLoopFuture<T> {
        self.pool.runIfActive(eventLoop: self.eventLoop, body)
    }

    /// A passive listener on 127.0.0.1 for a client at 127.0.0.1, relaying to `server`.
    func openPassive(
        ports: PassivePortAllocator,
        server: Int,
        observer: RecordingDataFlowObserver,
        acceptTimeout: TimeAmount = .seconds(10),
        idleTimeout: TimeAmount = .seconds(30)
    ) async throws -> any DataListener {
        let request = PassiveDataRequest(
            mode: .pasv,
            listenHost: "127.0.0.1",
            ports: ports,
            clientHost: "127.0.0.1",
            server: try SocketAddress(ipAddress: "127.0.0.1", port: server),
            serverSideSource: try SocketAddress(ipAddress: "127.0.0.1", port: 0),
            transparent: false,
            acceptTimeout: acceptTimeout,
            connectTimeout: .seconds(5),
            idleTimeout: idleTimeout
        )
        let box = try await self.eventLoop.flatSubmit {
            self.path.openPassive(request, on: self.eventLoop, observer: observer, logger: Self.logger)
                .map { UncheckedListener(listener: $0) }
        }.get()
        return box.listener
    }
}

extension SpliceHarness {
    /// An active-mode listener for a server at 127.0.0.1, relaying to the client listening at
    /// `client`; the connection to the client is made from 127.0.0.1, port chosen by the kernel.
    func openActive(
        client: Int,
        observer: RecordingDataFlowObserver,
        connectTimeout: TimeAmount = .seconds(5)
    ) async throws -> any DataListener {
        let request = ActiveDataRequest(
            mode: .port,
            listenHost: "127.0.0.1",
            listenPort: 0,
            transparent: false,
            serverHost: "127.0.0.1",
            client: try SocketAddress(ipAddress: "127.0.0.1", port: client),
            clientSideSource: try SocketAddress(ipAddress: "127.0.0.1", port: 0),
            connectTimeout: connectTimeout,
            idleTimeout: .seconds(30)
        )
        let box = try await self.eventLoop.flatSubmit {
            self.path.openActive(request, on: self.eventLoop, observer: observer, logger: Self.logger)
                .map { UncheckedListener(listener: $0) }
        }.get()
        return box.listener
    }
}

/// Carries a listener out of its event loop, for a test that only reads its port or closes it.
struct UncheckedListener: @unchecked Sendable {
    var listener: any DataListener
}

func withSpliceHarness(pipeSize: Int = 1 << 20, _ body: (SpliceHarness) async throws -> Void) async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let pool = NIOThreadPool(numberOfThreads: 4)
    pool.start()
    let path = try SpliceDataPath(threads: 1, pipeSize: pipeSize, logger: SpliceHarness.logger)
    let harness = SpliceHarness(path: path, eventLoop: group.next(), pool: pool)
    do {
        try await body(harness)
    } catch {
        path.shutdown()
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        throw error
    }
    path.shutdown()
    try await pool.shutdownGracefully()
    try await group.shutdownGracefully()
}

/// This process's own sockets, among which are a splice data path's.
enum ProcessSockets {
    /// The first IPv4 TCP socket whose local and remote ports match.
    static func first(where matches: (_ local: Int?, _ remote: Int?) -> Bool) -> CInt? {
        SpliceResources.entries("/proc/self/fd").compactMap { CInt($0) }.first { descriptor in
            guard let local = SpliceSocket.localAddress(descriptor), !local.isIPv6 else { return false }
            return matches(local.port, SpliceSocket.remoteAddress(descriptor)?.port)
        }
    }

    /// TCP_NODELAY on the socket: 1 when set, 0 when not, -1 when it cannot be read.
    static func noDelay(_ descriptor: CInt) -> CInt {
        var value: CInt = -1
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard getsockopt(descriptor, CInt(IPPROTO_TCP), CInt(TCP_NODELAY), &value, &length) == 0 else { return -1 }
        return value
    }
}

/// What this process holds that a splice data path could have leaked: its threads, sockets on
/// the given ports, and pipes of the given size (no other pipe in the tests has that size).
struct SpliceResources: Equatable {
    var threads = 0
    var sockets = 0
    var pipes = 0

    static func current(ports: Set<Int>, pipeSize: Int) -> SpliceResources {
        var resources = SpliceResources()
        resources.threads =
            Self.entries("/proc/self/task").filter { task in
                Self.read("/proc/self/task/\(task)/comm").hasPrefix(SpliceEventLoop.threadName)
            }.count
        let socketInodes = Self.socketInodes(ports: ports)
        for entry in Self.entries("/proc/self/fd") {
            guard let descriptor = CInt(entry) else { continue }
            let target = Self.link("/proc/self/fd/\(entry)")
            if target.hasPrefix("pipe:"), csplice_pipe_size(descriptor) == pipeSize {
                resources.pipes += 1
            } else if target.hasPrefix("socket:["), socketInodes.contains(String(target.dropFirst(8).dropLast())) {
                resources.sockets += 1
            }
        }
        return resources
    }

    /// Inodes of the TCP sockets (IPv4) with a local or remote port in `ports`.
    private static func socketInodes(ports: Set<Int>) -> Set<String> {
        var inodes: Set<String> = []
        for line in Self.read("/proc/net/tcp").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9 else { continue }
            let local = Int(fields[1].split(separator: ":").last ?? "", radix: 16) ?? -1
            let remote = Int(fields[2].split(separator: ":").last ?? "", radix: 16) ?? -1
            if ports.contains(local) || ports.contains(remote) {
                inodes.insert(String(fields[9]))
            }
        }
        return inodes
    }

    static func entries(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(directory) {
            // The name in place: a dirent is only as long as its name, so copying the whole
            // struct (`entry.pointee`) reads past the end of the last one (AddressSanitizer).
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func read(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = Glibc.read(descriptor, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func link(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return "" }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
#endif
