#if os(Linux)
import FTPDataPlane
import Logging
import NIOCore
import Synchronization

/// The data path on splice(2): data connections are made and accepted on sockets of its own
/// and relayed through pipes by the data plane's `SpliceRelay`, on one or two dedicated threads
/// running edge-triggered epoll. This is the plane's adapter: which peer may connect, which
/// port, which socket options, and what to say, are decided here. SwiftNIO keeps the control
/// connections; what a flow does is reported to its session on the session's event loop.
///
/// It runs as a service (`SpliceDataPath+Service.swift`) that stops the threads, closing whatever
/// they still hold, once the control sessions have ended, before their event loops stop.
package final class SpliceDataPath: DataPath, Sendable {
    private let loops: [SpliceEventLoop]
    private let nextLoop = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    let launcher: SpliceFlowLauncher

    /// Starts `threads` relay threads; pipes get `pipeSize` bytes where the kernel allows.
    package init(threads: Int, pipeSize: Int, logger: Logger) throws {
        var loops: [SpliceEventLoop] = []
        do {
            for _ in 0..<max(1, threads) {
                let loop = try SpliceEventLoop()
                try loop.start()
                loops.append(loop)
            }
        } catch {
            for loop in loops { loop.shutdown() }
            throw error
        }
        self.loops = loops
        self.launcher = SpliceFlowLauncher(pipeSize: pipeSize, logger: logger)
    }

    deinit {
        // A data path dropped without `shutdown()` would leave its threads running forever.
        self.shutdown()
    }

    /// Stops the relay threads, closing every socket and pipe they hold. Safe to call twice.
    package func shutdown() {
        guard !self.stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for loop in self.loops { loop.shutdown() }
    }

    /// Each relay thread's last turn round its loop, for `/healthz`.
    package var relayThreadTurns: [NIODeadline?] {
        // Both clocks are CLOCK_MONOTONIC.
        self.loops.map { $0.lastTurnTime.map { NIODeadline.uptimeNanoseconds($0.uptimeNanoseconds) } }
    }

    func loop() -> SpliceEventLoop {
        let index = self.nextLoop.wrappingAdd(1, ordering: .relaxed).oldValue
        return self.loops[index % self.loops.count]
    }

    package func openPassive(
        _ request: PassiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        let loop = self.loop()
        let bound: BoundPassivePort
        do {
            bound = try Self.bindPassivePort(
                host: request.listenHost,
                ports: request.ports,
                client: request.clientHost,
                freebind: request.freebind,
                logger: logger
            )
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let port = bound.port
        let listener = SplicePassiveListener(
            port: port,
            socket: bound.socket,
            loop: loop,
            launcher: self.launcher,
            request: request,
            flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
            logger: logger
        )
        guard loop.execute({ listener.start() }) else {
            listener.closeListener()
            return eventLoop.makeFailedFuture(DataPathError.stopped)
        }
        return eventLoop.assumeIsolated().makeSucceededFuture(listener as any DataListener)
    }

    /// A listening socket at a free port of the passive range on `host`, retrying as
    /// `PassivePortBinding` says; the caller owns the port.
    static func bindPassivePort(
        host: String,
        ports: PassivePortAllocator,
        client: String,
        freebind: Bool,
        logger: Logger
    ) throws(DataPathError) -> BoundPassivePort {
        var binding = PassivePortBinding(host: host, ports: ports)
        // Ends within `PassivePortBinding.attempts` turns: the binding fails then.
        while true {
            switch binding.next(allocate: { ports.allocate(for: client) }) {
            case .fail(let error):
                throw error
            case .bind(let port):
                do {
                    let address = try SocketAddress(ipAddress: host, port: port)
                    return BoundPassivePort(
                        socket: try SpliceSocket.listening(on: address, reuseAddress: true, freebind: freebind),
                        port: port
                    )
                } catch {
                    ports.release(port)
                    binding.bindFailed(port: port, error: error, logger: logger)
                }
            }
        }
    }

    package func openActive(
        _ request: ActiveDataRequest,
        on eventLoop: any EventLoop,
        observer: any DataFlowObserver,
        logger: Logger
    ) -> EventLoopFuture<any DataListener> {
        self.startActive(
            client: request.client,
            from: request.clientSideSource,
            freebind: request.freebind,
            on: eventLoop
        ) { loop, socket in
            SpliceActiveListener(
                loop: loop,
                launcher: self.launcher,
                clientSocket: socket,
                request: request,
                flow: NIOLoopBound(DataFlow(mode: request.mode, observer: observer), eventLoop: eventLoop),
                logger: logger
            )
        }
    }

    /// Starts the connect to the client a PORT/EPRT named, then what `make` builds around that
    /// socket on a relay thread: the plain active listener or the translated flow alike.
    func startActive<Started: SpliceActiveStart>(
        client: SocketAddress,
        from source: SocketAddress,
        freebind: Bool,
        on eventLoop: any EventLoop,
        make: (SpliceEventLoop, consuming Descriptor) -> Started
    ) -> EventLoopFuture<any DataListener> {
        let loop = self.loop()
        // Completed on the splice thread; the session reads it on its own event loop.
        let promise = eventLoop.makePromise(of: Started.self)
        let opened = promise.futureResult.assumeIsolated().map { $0 as any DataListener }.nonisolated()
        let socket: Descriptor
        do {
            socket = try Self.connectToClient(client, from: source, freebind: freebind)
        } catch {
            promise.fail(error)
            return opened
        }
        let started = make(loop, socket)
        guard loop.execute({ started.start(promise: promise) }) else {
            started.stop()
            promise.fail(DataPathError.stopped)
            return opened
        }
        return opened
    }

    /// Starts the connect to the address a client named in PORT/EPRT, from `source` (the
    /// advertised address and port 20).
    static func connectToClient(
        _ client: SocketAddress,
        from source: SocketAddress,
        freebind: Bool
    ) throws(DataPathError) -> Descriptor {
        do {
            // Several active connections share source port 20, towards different client ports.
            return try SpliceSocket.connecting(to: client, from: source, reuseAddress: true, freebind: freebind)
        } catch {
            throw DataPathError(code: .clientUnreachable, detail: OperatorText.describe(error, address: client))
        }
    }
}

/// A listening socket at a port of the passive range, which its owner must give back.
struct BoundPassivePort: ~Copyable {
    var socket: Descriptor
    let port: Int
}

/// An active-mode data connection of the splice path that `startActive` starts on a relay
/// thread once the connect to the client is under way.
protocol SpliceActiveStart: DataListener, AnyObject, Sendable {
    func start(promise: EventLoopPromise<Self>)
    func stop()
}

#endif
