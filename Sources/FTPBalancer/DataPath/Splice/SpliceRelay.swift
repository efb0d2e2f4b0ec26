#if os(Linux)
import CSplice
import Glibc
import NIOCore
import Synchronization

/// The bytes a relay has moved each way, readable from any thread (flow snapshots, reports).
final class SpliceRelayCounters: Sendable {
    let toClient = Atomic<Int>(0)
    let toServer = Atomic<Int>(0)
    /// False from the moment the relay closes its sockets: another thread reads TCP_INFO of
    /// their descriptors only while this holds true, so never of a number reused since.
    let socketsOpen = Mutex(true)
}

/// Relays one data connection between two connected sockets with splice(2), one pipe per
/// direction, on a splice event loop. It keeps the rules of the NIO relay (`DataRelayHandler`):
/// - a direction reads only while its pipe has room, so a slow reader holds the writer to one
///   pipe of bytes plus the sockets' buffers;
/// - an end of input is passed on as shutdown(SHUT_WR), once everything read before it has
///   been delivered, so an empty upload still reaches the server as an end of file;
/// - when a socket fails, what was read from it still goes to the other, then both close;
/// - nothing moved either way for the idle timeout closes both.
/// Both directions done, it closes every descriptor once and calls `onClosed`.
final class SpliceRelay: SpliceEventHandler {
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

    private struct Direction {
        let pipe: SplicePipe
        /// Bytes in the pipe: read from the source, not yet written to the sink.
        var buffered = 0
        var inputEnded = false
        /// The end of input was passed on, or the sink failed: nothing more to do this way.
        var done = false
    }

    private let loop: SpliceEventLoop
    private let idleTimeout: TimeAmount
    private let counters: SpliceRelayCounters
    private let onClosed: () -> Void
    private var client: Side
    private var server: Side
    private var toServer: Direction
    private var toClient: Direction
    private var lastActivity = NIODeadline.now()
    private var idleTimer: Int?
    private var closed = false

    /// Takes ownership of both sockets, their registrations and both pipes.
    init(
        loop: SpliceEventLoop,
        client: SpliceSocketHandle,
        server: SpliceSocketHandle,
        pipes: (toServer: SplicePipe, toClient: SplicePipe),
        idleTimeout: TimeAmount,
        counters: SpliceRelayCounters,
        onClosed: @escaping () -> Void
    ) {
        self.loop = loop
        self.client = Side(descriptor: client.descriptor, token: client.token)
        self.server = Side(descriptor: server.descriptor, token: server.token)
        self.toServer = Direction(pipe: pipes.toServer)
        self.toClient = Direction(pipe: pipes.toClient)
        self.idleTimeout = idleTimeout
        self.counters = counters
        self.onClosed = onClosed
    }

    /// Watches both sockets and moves what is already there. On the loop's thread.
    func start() {
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

    func handle(events: UInt32, on descriptor: CInt) {
        guard !self.closed else { return }
        if descriptor == self.client.descriptor {
            Self.note(events, on: &self.client)
        } else {
            Self.note(events, on: &self.server)
        }
        self.pumpBoth()
    }

    func stop() {
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
            self.close(reporting: true)
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
            if !direction.inputEnded, source.error == nil, source.readable, direction.buffered < direction.pipe.capacity
            {
                let count = csplice_splice(
                    source.descriptor,
                    direction.pipe.writeEnd,
                    UInt(direction.pipe.capacity - direction.buffered)
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
                let count = csplice_splice(direction.pipe.readEnd, sink.descriptor, UInt(direction.buffered))
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
                // Everything read before the end of input has been delivered: pass it on.
                _ = shutdown(sink.descriptor, CInt(SHUT_WR))
                direction.done = true
            }
            movedAny = movedAny || progressed
            if !progressed { break }
        }
        return movedAny
    }

    private func armIdleTimer(in delay: TimeAmount) {
        self.idleTimer = self.loop.schedule(in: delay) { [weak self] in
            guard let self, !self.closed else { return }
            let quiet = NIODeadline.now() - self.lastActivity
            if quiet >= self.idleTimeout {
                self.close(reporting: true)
            } else {
                self.armIdleTimer(in: self.idleTimeout - quiet)
            }
        }
    }

    /// Closes both sockets and both pipes, once.
    private func close(reporting: Bool) {
        guard !self.closed else { return }
        self.closed = true
        if let timer = self.idleTimer { self.loop.cancelTimer(timer) }
        self.counters.socketsOpen.withLock { $0 = false }
        for side in [self.client, self.server] {
            if let token = side.token { self.loop.forget(token) }
            Glibc.close(side.descriptor)
        }
        // A pipe still holding bytes (its sink failed) is not given to another relay.
        self.loop.recycle(self.toServer.pipe, empty: self.toServer.buffered == 0)
        self.loop.recycle(self.toClient.pipe, empty: self.toClient.buffered == 0)
        if reporting {
            self.onClosed()
        }
    }
}
#endif
