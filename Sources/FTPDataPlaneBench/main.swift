// The data plane's relay alone, deployed as bench/minimal_splice_relay.c is: it forwards ports
// one for one, with one relay thread and 1 MiB pipes, and nothing of FTP around it. For
// bench/relay_cpu.py, which measures its CPU per GiB against the C relay's.
//
//     FTPDataPlaneBench LISTEN_IP TARGET_IP PORT:TARGET_PORT [PORT:TARGET_PORT ...]
//
// A benchmark's helper, not a product: a connection that fails is simply closed.
#if os(Linux)
import FTPDataPlane
import Glibc

/// One forwarded port: accepts, connects to the target, relays. Used on the loop's thread only.
final class Forwarder: SpliceEventHandler, @unchecked Sendable {
    private let loop: SpliceEventLoop
    private let target: SpliceAddress
    private let sizing: SplicePipeSizing
    private var listening: Descriptor?
    private lazy var acceptRetry = SpliceAcceptRetry(loop: self.loop) { error in
        Self.say("accept failed: \(error)")
    }

    init(loop: SpliceEventLoop, listening: consuming Descriptor, target: SpliceAddress, sizing: SplicePipeSizing) {
        self.loop = loop
        self.listening = consume listening
        self.target = target
        self.sizing = sizing
    }

    func start() throws(SystemCallError) {
        guard let raw = self.listening?.raw else { return }
        _ = try self.loop.register(raw, handler: self)
    }

    func handle(events: UInt32, on descriptor: CInt) {
        self.acceptRetry.acceptAll(from: { [weak self] in self?.listening?.raw }) { [weak self] connection, _ in
            self?.forward(connection)
        }
    }

    func stop() {
        self.acceptRetry.cancel()
        self.listening = nil
    }

    private func forward(_ client: consuming Descriptor) {
        let pending = PendingClient(client)
        let server: Descriptor
        do {
            server = try Self.connecting(to: self.target)
        } catch {
            return Self.say("connect failed: \(error)")
        }
        let connector = SpliceConnector(loop: self.loop, socket: server) { [loop = self.loop, sizing = self.sizing] outcome in
            switch consume outcome {
            case .connected(let server):
                guard let client = pending.socket.take() else { return server.close(on: loop) }
                do {
                    try loop.relay(
                        client: SpliceSocketHandle(descriptor: client),
                        server: server,
                        sizing: sizing,
                        idleTimeout: .seconds(3600),
                        starting: { _, _ in },
                        ended: { _ in }
                    )
                } catch {
                    Self.say("relay failed: \(error)")
                }
            case .failed(let error):
                Self.say("connect failed: \(error)")
            }
        }
        connector.start(timeout: .seconds(10))
    }

    private static func connecting(to target: SpliceAddress) throws(SystemCallError) -> Descriptor {
        let socket = try SpliceSocket.make(for: target)
        try SpliceSocket.connect(socket, to: target)
        return socket
    }

    static func say(_ message: String) {
        let line = Array("FTPDataPlaneBench: \(message)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// The accepted client's socket while the connect to the target is made.
final class PendingClient {
    var socket: Descriptor?

    init(_ socket: consuming Descriptor) {
        self.socket = consume socket
    }
}

func main() -> Int32 {
    let arguments = CommandLine.arguments
    guard arguments.count >= 4 else {
        Forwarder.say("usage: FTPDataPlaneBench LISTEN_IP TARGET_IP PORT:TARGET_PORT [...]")
        return 2
    }
    let sizing = SplicePipeSizing(requested: 1 << 20) { error in Forwarder.say("pipe size refused: \(error)") }
    do {
        let loop = try SpliceEventLoop()
        try loop.start()
        var forwarders: [Forwarder] = []
        for pair in arguments[3...] {
            let ports = pair.split(separator: ":").compactMap { Int($0) }
            guard ports.count == 2,
                let listen = SpliceAddress(ipv4: arguments[1], port: ports[0]),
                let target = SpliceAddress(ipv4: arguments[2], port: ports[1])
            else {
                Forwarder.say("bad address or port pair: \(pair)")
                return 2
            }
            let socket = try SpliceSocket.make(for: listen)
            try SpliceSocket.setOption(socket, level: SOL_SOCKET, name: SO_REUSEADDR)
            try SpliceSocket.bind(socket, to: listen)
            try SpliceSocket.listen(socket, backlog: 128)
            forwarders.append(Forwarder(loop: loop, listening: socket, target: target, sizing: sizing))
        }
        for forwarder in forwarders {
            loop.execute {
                do { try forwarder.start() } catch { Forwarder.say("\(error)") }
            }
        }
        // Until killed: the relay thread does the work.
        while true { pause() }
    } catch {
        Forwarder.say("\(error)")
        return 1
    }
}

exit(main())
#endif
