#if os(Linux)
import CSplice
import Glibc
import Synchronization

/// Relays one data connection between two connected sockets with splice(2), one pipe per
/// direction, on a splice event loop. It keeps the rules of the NIO relay (`DataRelayHandler`):
/// - a direction reads only while its pipe has room, so a slow reader holds the writer to one
///   pipe of bytes plus the sockets' buffers;
/// - an end of input is passed on as shutdown(SHUT_WR), once everything read before it has
///   been delivered, so an empty upload still reaches the server as an end of file;
/// - when a socket fails, what was read from it still goes to the other, then both are reset
///   (RST): a transfer cut on one side must not look complete on the other;
/// - nothing moved either way for the idle timeout resets both.
/// Both directions done, it closes every descriptor once and calls `onClosed` with the bytes.
package final class SpliceRelay: SpliceEventHandler {
    /// A socket's state; `clientSocket` or `serverSocket` owns its descriptor.
    private struct Side {
        let descriptor: CInt
        var token: UInt64?
        /// epoll said so, and no splice has said EAGAIN since (edge-triggered).
        var readable = true
        var writable = true
        /// The socket failed with this errno; nothing more is read from or written to it.
        var error: CInt?
        var failureApplied = false
    }

    /// A direction's state; `toServerPipe` or `toClientPipe` owns its pipe.
    private struct Direction {
        let pipeReadEnd: CInt
        let pipeWriteEnd: CInt
        let capacity: Int
        /// Bytes in the pipe: read from the source, not yet written to the sink.
        var buffered = 0
        var inputEnded = false
        /// The end of input was passed on, or the sink failed: nothing more to do this way.
        var done = false
    }

    private let loop: SpliceEventLoop
    private let idleTimeout: Duration
    private let counters: SpliceRelayCounters
    private let onClosed: (SpliceRelayEnd) -> Void
    private var client: Side
    private var server: Side
    private var toServer: Direction
    private var toClient: Direction
    // The owners of the descriptors; dropped (closed) once, in `close`.
    private var clientSocket: Descriptor?
    private var serverSocket: Descriptor?
    private var toServerPipe: SplicePipe?
    private var toClientPipe: SplicePipe?
    private var lastActivity = MonotonicTime.now()
    private var idleTimer: Int?
    private var closed = false

    /// Takes ownership of both sockets, their registrations and both pipes.
    init(
        loop: SpliceEventLoop,
        client: consuming SpliceSocketHandle,
        server: consuming SpliceSocketHandle,
        toServer: consuming SplicePipe,
        toClient: consuming SplicePipe,
        idleTimeout: Duration,
        counters: SpliceRelayCounters,
        onClosed: @escaping (SpliceRelayEnd) -> Void
    ) {
        self.loop = loop
        self.client = Side(descriptor: client.descriptor.raw, token: client.token)
        self.server = Side(descriptor: server.descriptor.raw, token: server.token)
        self.toServer = Direction(
            pipeReadEnd: toServer.readEnd.raw,
            pipeWriteEnd: toServer.writeEnd.raw,
            capacity: toServer.capacity
        )
        self.toClient = Direction(
            pipeReadEnd: toClient.readEnd.raw,
            pipeWriteEnd: toClient.writeEnd.raw,
            capacity: toClient.capacity
        )
        self.clientSocket = client.take()
        self.serverSocket = server.take()
        self.toServerPipe = consume toServer
        self.toClientPipe = consume toClient
        self.idleTimeout = idleTimeout
        self.counters = counters
        self.onClosed = onClosed
    }

    /// Watches both sockets and moves what is already there. On the loop's thread.
    package func start() {
        do {
            try self.watch(&self.client)
            try self.watch(&self.server)
        } catch {
            self.close(reporting: true)
            return
        }
        self.armIdleTimer(in: self.idleTimeout)
        self.pumpBoth()
    }

    /// Takes over the socket's registration, or makes one.
    private func watch(_ side: inout Side) throws(SystemCallError) {
        if let token = side.token {
            self.loop.reassign(token, to: self)
        } else {
            side.token = try self.loop.register(side.descriptor, handler: self)
        }
    }

    package func handle(events: UInt32, on descriptor: CInt) {
        guard !self.closed else { return }
        if descriptor == self.client.descriptor {
            Self.note(events, on: &self.client)
        } else {
            Self.note(events, on: &self.server)
        }
        self.pumpBoth()
    }

    package func stop() {
        self.close(reporting: false)
    }

    private static func note(_ events: UInt32, on side: inout Side) {
        let failed = events & csplice_event_error != 0
        if events & (csplice_event_in | csplice_event_peer_closed | csplice_event_hangup) != 0 || failed {
            side.readable = true
        }
        if events & (csplice_event_out | csplice_event_hangup) != 0 || failed {
            side.writable = true
        }
        if failed, side.error == nil {
            let error = SpliceSocket.pendingError(side.descriptor)
            if error != 0 { side.error = error }
        }
    }

    private func pumpBoth() {
        var moved = false
        repeat {
            moved =
                Self.pump(&self.toServer, from: &self.client, to: &self.server, counter: self.counters.toServer)
                || moved
            moved =
                Self.pump(&self.toClient, from: &self.server, to: &self.client, counter: self.counters.toClient)
                || moved
        } while self.applyFailures()
        if moved {
            self.lastActivity = .now()
        }
        if self.toServer.done && self.toClient.done {
            self.close(reporting: true, reset: self.client.error != nil || self.server.error != nil)
        }
    }

    /// A failed socket ends the input read from it (what is in its pipe still goes out) and
    /// abandons what was on its way to it. True if a failure was new, so pumping goes on.
    private func applyFailures() -> Bool {
        var applied = false
        if self.client.error != nil, !self.client.failureApplied {
            self.client.failureApplied = true
            self.toServer.inputEnded = true
            self.toClient.done = true
            applied = true
        }
        if self.server.error != nil, !self.server.failureApplied {
            self.server.failureApplied = true
            self.toClient.inputEnded = true
            self.toServer.done = true
            applied = true
        }
        return applied
    }

    /// Moves bytes one way until neither socket nor pipe can take more now. True if any moved.
    private static func pump(
        _ direction: inout Direction,
        from source: inout Side,
        to sink: inout Side,
        counter: borrowing Atomic<Int>
    ) -> Bool {
        var movedAny = false
        while !direction.done {
            var progressed = false
            if !direction.inputEnded, source.error == nil, source.readable, direction.buffered < direction.capacity
            {
                let count = csplice_splice(
                    source.descriptor,
                    direction.pipeWriteEnd,
                    UInt(direction.capacity - direction.buffered)
                )
                if count > 0 {
                    direction.buffered += count
                    counter.add(count, ordering: .relaxed)
                    progressed = true
                } else if count == 0 {
                    direction.inputEnded = true
                    progressed = true
                } else if errno == EAGAIN {
                    // With bytes in the pipe, EAGAIN may mean the pipe is full rather than the
                    // socket empty: the socket counts as readable until the pipe has drained.
                    if direction.buffered == 0 { source.readable = false }
                } else if errno != EINTR {
                    source.error = errno
                }
            }
            if direction.buffered > 0, sink.error == nil, sink.writable {
                let count = csplice_splice(direction.pipeReadEnd, sink.descriptor, UInt(direction.buffered))
                if count > 0 {
                    direction.buffered -= count
                    progressed = true
                } else if count < 0, errno == EAGAIN {
                    sink.writable = false
                } else if count < 0, errno != EINTR {
                    sink.error = errno
                }
            }
            if sink.error != nil {
                direction.done = true
            } else if direction.inputEnded, direction.buffered == 0 {
                // Everything read before the end of input has been delivered: pass it on, unless
                // the source failed, whose end the relay's reset passes on instead.
                if source.error == nil { _ = shutdown(sink.descriptor, CInt(SHUT_WR)) }
                direction.done = true
            }
            movedAny = movedAny || progressed
            if !progressed { break }
        }
        return movedAny
    }

    private func armIdleTimer(in delay: Duration) {
        self.idleTimer = self.loop.schedule(in: delay) { [weak self] in
            guard let self, !self.closed else { return }
            let quiet = MonotonicTime.now() - self.lastActivity
            if quiet >= self.idleTimeout {
                self.close(reporting: true, reset: true)
            } else {
                self.armIdleTimer(in: self.idleTimeout - quiet)
            }
        }
    }

    /// Closes both sockets and both pipes, once; with `reset`, the sockets with RST.
    private func close(reporting: Bool, reset: Bool = false) {
        guard !self.closed else { return }
        self.closed = true
        if reset {
            // Still open: their owners close them below.
            SpliceSocket.resetOnClose(self.client.descriptor)
            SpliceSocket.resetOnClose(self.server.descriptor)
        }
        if let timer = self.idleTimer { self.loop.cancelTimer(timer) }
        self.counters.socketsOpen.withLock { $0 = false }
        for token in [self.client.token, self.server.token] {
            if let token { self.loop.forget(token) }
        }
        self.clientSocket = nil
        self.serverSocket = nil
        // A pipe still holding bytes (its sink failed) is not given to another relay.
        if let pipe = self.toServerPipe.take() { self.loop.recycle(pipe, empty: self.toServer.buffered == 0) }
        if let pipe = self.toClientPipe.take() { self.loop.recycle(pipe, empty: self.toClient.buffered == 0) }
        if reporting {
            self.onClosed(
                SpliceRelayEnd(
                    bytesToClient: self.counters.toClient.load(ordering: .relaxed),
                    bytesToServer: self.counters.toServer.load(ordering: .relaxed)
                )
            )
        }
    }
}
#endif
