import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Appends lines to one log file on a thread of its own, so that a slow disk never holds an
/// event loop. Lines wait in a bounded queue; when it is full they are dropped and counted,
/// and a warning says how many, at most once per interval.
package final class TransferLogWriter: Sendable {
    package static let defaultCapacity = 10_000
    static let dropWarningInterval = TimeAmount.seconds(10)

    private struct Queue {
        var lines: [String] = []
        var draining = false
        /// Reopen once the lines queued before the request (this many) are written.
        var reopenAfter: Int?
        var closed = false
        var droppedSinceWarning = 0
        var droppedTotal = 0
        var lastWarning: NIODeadline?
    }

    package let path: String
    private let capacity: Int
    private let logger: Logger
    private let thread: NIOThreadPool
    private let queue = NIOLockedValueBox(Queue())
    /// The descriptor; held while writing, so that one batch at a time reaches the file.
    private let file: NIOLockedValueBox<CInt>
    /// Writes that fail (a full disk): taken only under `file`'s lock.
    private let failure = NIOLockedValueBox(WriteFailure())

    /// Lines whose write failed: the first failure is an error, then one warning with the
    /// count at most every `dropWarningInterval`, and a notice once lines are written again.
    private struct WriteFailure {
        var failing = false
        var lostSinceWarning = 0
        var lostInOutage = 0
        var lostTotal = 0
        var lastWarning = NIODeadline.uptimeNanoseconds(0)
    }

    /// Opens (or creates) the file now, so that a path that cannot be written is refused at
    /// start or reload rather than found out at the first transfer.
    package init(path: String, capacity: Int = TransferLogWriter.defaultCapacity, logger: Logger) throws {
        self.path = path
        self.capacity = capacity
        self.logger = logger
        self.file = NIOLockedValueBox(try Self.open(path))
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.thread.start()
    }

    /// Queues one line (without its line end); never blocks.
    package func append(_ line: String) {
        let (schedule, warning) = self.queue.withLockedValue { queue -> (Bool, Int?) in
            guard !queue.closed, queue.lines.count < self.capacity else {
                queue.droppedSinceWarning += 1
                queue.droppedTotal += 1
                return (false, Self.takeDueWarning(&queue))
            }
            queue.lines.append(line)
            defer { queue.draining = true }
            return (!queue.draining, nil)
        }
        if schedule { self.scheduleDrain() }
        if let warning { self.warnDropped(warning) }
    }

    /// Closes the file and opens the path again: after logrotate renamed it, a new file appears.
    /// Lines queued before are written to the old file.
    package func reopen() {
        let schedule = self.queue.withLockedValue { queue -> Bool in
            guard !queue.closed else { return false }
            queue.reopenAfter = queue.lines.count
            defer { queue.draining = true }
            return !queue.draining
        }
        if schedule { self.scheduleDrain() }
    }

    /// Writes every queued line, then closes the file; lines appended later are dropped.
    package func close() {
        self.queue.withLockedValue { $0.closed = true }
        // On the caller's thread: the pool may already be past its last drain.
        self.drain()
        self.file.withLockedValue { descriptor in
            if descriptor >= 0 { Glibc.close(descriptor) }
            descriptor = -1
        }
        let dropped = self.queue.withLockedValue { queue in
            defer { queue.droppedSinceWarning = 0 }
            return queue.droppedSinceWarning
        }
        if dropped > 0 { self.warnDropped(dropped) }
        self.thread.shutdownGracefully { _ in }
    }

    /// Lines dropped because the queue was full (or the writer closed), since the start.
    package var droppedLines: Int {
        self.queue.withLockedValue { $0.droppedTotal }
    }

    /// Lines lost because the file could not be written (a full disk), since the start.
    package var failedLines: Int {
        self.failure.withLockedValue { $0.lostTotal }
    }

    /// False from a failed write until a write succeeds again.
    package var isWriting: Bool {
        !self.failure.withLockedValue { $0.failing }
    }

    /// Runs `body` while no batch can be written: lets a test fill the queue.
    package func holdingWrites<Result>(_ body: () throws -> Result) rethrows -> Result {
        try self.file.withLockedValue { _ in try body() }
    }

    // MARK: The writing thread

    private func scheduleDrain() {
        self.thread.submit { state in
            guard case .active = state else { return }
            self.drain()
        }
    }

    private func drain() {
        var warning: Int?
        self.file.withLockedValue { descriptor in
            while true {
                let batch = self.queue.withLockedValue { queue -> (lines: ArraySlice<String>, reopen: Bool)? in
                    guard !queue.lines.isEmpty || queue.reopenAfter != nil else {
                        queue.draining = false
                        if queue.droppedSinceWarning > 0 { warning = Self.takeDueWarning(&queue) }
                        return nil
                    }
                    // Lines queued before a reopen belong to the old file, the rest to the new.
                    let count = queue.reopenAfter ?? queue.lines.count
                    defer {
                        queue.lines.removeFirst(count)
                        queue.reopenAfter = nil
                    }
                    return (queue.lines[..<count], queue.reopenAfter != nil)
                }
                guard let batch else { break }
                if !batch.lines.isEmpty {
                    var bytes: [UInt8] = []
                    for line in batch.lines {
                        bytes.append(contentsOf: line.utf8)
                        bytes.append(UInt8(ascii: "\n"))
                    }
                    self.write(bytes, lines: batch.lines.count, to: descriptor)
                }
                if batch.reopen {
                    descriptor = self.reopened(descriptor)
                }
            }
        }
        if let warning { self.warnDropped(warning) }
    }

    private func write(_ bytes: [UInt8], lines: Int, to descriptor: CInt) {
        guard descriptor >= 0 else { return }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                let code = errno
                if code == EINTR { continue }
                // A line cut short would run into the next one written: the file ends where the
                // batch began, and the whole batch counts as lost.
                if written > 0 { ftruncate(descriptor, lseek(descriptor, 0, SEEK_END) - off_t(written)) }
                self.noteFailure(lines: lines, errno: code)
                return
            }
            written += result
        }
        self.noteWritten()
    }

    private func noteFailure(lines: Int, errno code: CInt) {
        let now = NIODeadline.now()
        let (first, warning) = self.failure.withLockedValue { failure -> (Bool, Int?) in
            failure.lostTotal += lines
            failure.lostInOutage += lines
            failure.lostSinceWarning += lines
            let first = !failure.failing
            failure.failing = true
            guard first || now - failure.lastWarning >= Self.dropWarningInterval else { return (false, nil) }
            failure.lastWarning = now
            defer { failure.lostSinceWarning = 0 }
            return (first, failure.lostSinceWarning)
        }
        guard let warning else { return }
        let metadata: Logger.Metadata = [
            "ftp.transfer_log": "\(self.path)", "ftp.error": "\(OperatorText.describe(errno: code))",
            "ftp.lost": "\(warning)",
        ]
        if first {
            self.logger.error("transfer log: cannot write; lines are lost until it can", metadata: metadata)
        } else {
            self.logger.warning("transfer log: still cannot write; lines lost", metadata: metadata)
        }
    }

    private func noteWritten() {
        let lost = self.failure.withLockedValue { failure -> Int? in
            guard failure.failing else { return nil }
            defer {
                failure.failing = false
                failure.lostInOutage = 0
                failure.lostSinceWarning = 0
            }
            return failure.lostInOutage
        }
        guard let lost else { return }
        self.logger.notice(
            "transfer log: writing again",
            metadata: ["ftp.transfer_log": "\(self.path)", "ftp.lost": "\(lost)"]
        )
    }

    private func reopened(_ descriptor: CInt) -> CInt {
        do {
            let fresh = try Self.open(self.path)
            if descriptor >= 0 { Glibc.close(descriptor) }
            self.logger.info("transfer log reopened", metadata: ["ftp.transfer_log": "\(self.path)"])
            return fresh
        } catch {
            // Keep writing to the file still open rather than losing lines.
            self.logger.error(
                "transfer log: cannot reopen; writing on to the file open before",
                metadata: ["ftp.transfer_log": "\(self.path)", "ftp.error": "\(OperatorText.describe(error))"]
            )
            return descriptor
        }
    }

    private static func takeDueWarning(_ queue: inout Queue) -> Int? {
        let now = NIODeadline.now()
        if let last = queue.lastWarning, now - last < Self.dropWarningInterval { return nil }
        queue.lastWarning = now
        defer { queue.droppedSinceWarning = 0 }
        return queue.droppedSinceWarning
    }

    private func warnDropped(_ count: Int) {
        self.logger.warning(
            "transfer log: the writer cannot keep up; lines dropped",
            metadata: ["ftp.transfer_log": "\(self.path)", "ftp.dropped": "\(count)"]
        )
    }

    // MARK: Files

    static func open(_ path: String) throws -> CInt {
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw BalancerError(.transferLogUnavailable, "transfer log: cannot open \(path): \(Self.errorText(errno))")
        }
        return descriptor
    }

    static func errorText(_ code: CInt) -> String {
        String(cString: strerror(code))
    }
}
