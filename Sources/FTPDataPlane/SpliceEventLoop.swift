#if os(Linux)
import CSplice
import Glibc
import Synchronization

/// Something a splice event loop watches. Called on the loop's thread only.
package protocol SpliceEventHandler: AnyObject {
    /// epoll reported `events` (edge-triggered) for `descriptor`.
    func handle(events: UInt32, on descriptor: CInt)
    /// The loop is stopping: close every descriptor this handler owns, report nothing.
    func stop()
}

/// One thread running edge-triggered epoll for the splice data path: descriptors, their
/// handlers, coarse timers, and work handed over from other threads through a queue and an
/// eventfd. No SwiftNIO: a data connection's bytes never pass through an event loop of NIO's.
///
/// Everything but `execute` and `shutdown` runs on the loop's own thread.
package final class SpliceEventLoop: @unchecked Sendable {
    private struct Queue {
        var work: [@Sendable () -> Void] = []
        var stopping = false
    }

    private struct Registration {
        var descriptor: CInt
        var handler: any SpliceEventHandler
    }

    /// The token of the wakeup eventfd; handlers get tokens from 1 up, never reused.
    private static let wakeupToken: UInt64 = 0
    /// How long epoll may sleep with no timer due: stopping never waits on it, it only bounds
    /// how late a timer runs if the clock jumps.
    private static let longestSleep = Duration.seconds(1)

    private let epoll: CInt
    private let wakeup: CInt
    /// The owners of `epoll` and `wakeup`, which close them once the thread has stopped.
    private var epollOwner: Descriptor?
    private var wakeupOwner: Descriptor?
    private let queue = Mutex(Queue())
    private var thread: pthread_t?
    /// When the thread last went round its loop (uptime nanoseconds), 0 before its first turn
    /// and after it stopped: read by `/healthz` from other threads.
    private let lastTurn = Atomic<UInt64>(0)
    // Loop-thread state.
    private var registrations: [UInt64: Registration] = [:]
    private var nextToken: UInt64 = 1
    private var timers = SpliceTimerQueue<() -> Void>()
    private var idlePipes = SplicePipePool()

    package init() throws(SystemCallError) {
        let epoll = csplice_epoll_create()
        guard epoll >= 0 else { throw SystemCallError("epoll_create1") }
        let epollOwner = Descriptor(epoll)
        let wakeup = csplice_eventfd()
        guard wakeup >= 0 else { throw SystemCallError("eventfd") }
        let wakeupOwner = Descriptor(wakeup)
        guard csplice_epoll_add(epoll, wakeup, Self.wakeupToken) == 0 else { throw SystemCallError("epoll_ctl") }
        self.epoll = epoll
        self.wakeup = wakeup
        self.epollOwner = consume epollOwner
        self.wakeupOwner = consume wakeupOwner
    }

    /// Starts the loop's thread.
    package func start() throws(SystemCallError) {
        // The thread holds the loop until it has stopped.
        self.thread = try NamedThread.start(named: Self.threadName) { self.run() }
    }

    /// Runs `work` on the loop's thread, in submission order. False when the loop has stopped,
    /// and `work` will never run: the caller still owns what it meant to hand over.
    @discardableResult
    package func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        let (accepted, wasEmpty) = self.queue.withLock { queue in
            guard !queue.stopping else { return (false, false) }
            queue.work.append(work)
            return (true, queue.work.count == 1)
        }
        // Work already queued has signalled the loop, which takes the whole queue at once.
        if accepted, wasEmpty {
            _ = csplice_eventfd_signal(self.wakeup)
        }
        return accepted
    }

    /// Stops the loop: every handler closes what it owns, then the thread ends and is joined.
    /// Call once, not from the loop's thread.
    package func shutdown() {
        self.queue.withLock { $0.stopping = true }
        _ = csplice_eventfd_signal(self.wakeup)
        if let thread = self.thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
        self.wakeupOwner = nil
        self.epollOwner = nil
    }

    // MARK: Loop thread

    /// Watches `descriptor`; the token to remove it with, or the error.
    package func register(_ descriptor: CInt, handler: any SpliceEventHandler) throws(SystemCallError) -> UInt64 {
        let token = self.nextToken
        guard csplice_epoll_add(self.epoll, descriptor, token) == 0 else { throw SystemCallError("epoll_ctl") }
        self.nextToken += 1
        self.registrations[token] = Registration(descriptor: descriptor, handler: handler)
        return token
    }

    /// Stops watching a descriptor the caller closes next. Closing it takes it out of epoll
    /// (the data path never duplicates a descriptor), so no epoll_ctl is spent on it; an event
    /// already queued for it is dropped, as tokens are never reused.
    package func forget(_ token: UInt64) {
        self.registrations.removeValue(forKey: token)
    }

    /// Hands a watched descriptor to another handler, keeping its epoll entry: a socket whose
    /// connect ended goes to its relay without an epoll_ctl to remove it and one to add it.
    package func reassign(_ token: UInt64, to handler: any SpliceEventHandler) {
        self.registrations[token]?.handler = handler
    }

    /// A pipe for a relay direction: an empty one a relay gave back, or a new one.
    func pipe(sizing: SplicePipeSizing) throws(SystemCallError) -> SplicePipe {
        if let pipe = self.idlePipes.take() { return pipe }
        return try SplicePipe(sizing: sizing)
    }

    /// Takes back a relay's pipe: kept for the next relay if it is empty and the pool has
    /// room, closed otherwise. Creating, sizing and closing two pipes cost eight system calls
    /// per data connection.
    func recycle(_ pipe: consuming SplicePipe, empty: Bool) {
        if empty {
            self.idlePipes.put(pipe)
        } else {
            pipe.close()
        }
    }

    /// Runs `action` on this thread after `delay`, unless cancelled.
    package func schedule(in delay: Duration, _ action: @escaping () -> Void) -> Int {
        self.timers.schedule(at: .now() + delay, action)
    }

    package func cancelTimer(_ id: Int) {
        self.timers.cancel(id)
    }

    /// When the thread last went round its loop; nil before it started or once it stopped. An idle
    /// loop still goes round every `longestSleep`.
    package var lastTurnTime: MonotonicTime? {
        let uptime = self.lastTurn.load(ordering: .relaxed)
        return uptime == 0 ? nil : MonotonicTime(uptimeNanoseconds: uptime)
    }

    /// The name of the loop threads, as ps and /proc show them.
    package static let threadName = "ftplb-splice"

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            self.lastTurn.store(MonotonicTime.now().uptimeNanoseconds, ordering: .relaxed)
            let (work, stopping) = self.queue.withLock { queue in
                defer { queue.work = [] }
                return (queue.work, queue.stopping)
            }
            // Work handed over before the stop still runs, so that what it owns is registered
            // and then closed with the rest.
            for item in work { item() }
            if stopping {
                self.lastTurn.store(0, ordering: .relaxed)
                self.stopHandlers()
                return
            }
            self.runDueTimers()
            let count = csplice_epoll_wait(self.epoll, &tokens, &events, 64, self.sleepMilliseconds())
            guard count > 0 else { continue }
            for index in 0..<Int(count) {
                let token = tokens[index]
                if token == Self.wakeupToken {
                    _ = csplice_eventfd_drain(self.wakeup)
                    continue
                }
                // A handler removed by an earlier event of this batch gets no more.
                guard let registration = self.registrations[token] else { continue }
                registration.handler.handle(events: events[index], on: registration.descriptor)
            }
        }
    }

    private func sleepMilliseconds() -> CInt {
        var sleep = Self.longestSleep
        if let deadline = self.timers.earliestDeadline() {
            sleep = min(sleep, deadline - .now())
        }
        // Rounded up, so that a timer is not polled for in a busy loop.
        return CInt(max(0, (sleep.nanoseconds + 999_999) / 1_000_000))
    }

    private func runDueTimers() {
        for action in self.timers.removeDue(at: .now()) { action() }
    }

    private func stopHandlers() {
        // A handler may own several descriptors: stop each handler once.
        var stopped: [ObjectIdentifier] = []
        for registration in self.registrations.values {
            let id = ObjectIdentifier(registration.handler)
            guard !stopped.contains(id) else { continue }
            stopped.append(id)
            registration.handler.stop()
        }
        self.registrations = [:]
        self.timers.removeAll()
        self.idlePipes.closeAll()
    }
}
#endif
