import FTPDataPlane
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the process clear of its open-file limit: new sessions are refused with a 421 while
/// fewer than `reserve` descriptors are free. At the limit itself the Swift runtime's thread
/// pool monitor (libdispatch on Linux) cannot open its /proc file and stops the process, and
/// running sessions could not open their data connections: so the limit is never reached by
/// admitting sessions.
package final class DescriptorReserve: Sendable {
    /// The soft limit in force (the executable raises it first, `raiseSoftLimit`).
    package let limit: Int
    /// Descriptors that stay free for the runtime, logs, health checks and the data
    /// connections of running sessions.
    package let reserve: Int
    private let counted = NIOLockedValueBox(Count())
    /// Counts the descriptors open now: /proc/self/fd, or a test's stand-in.
    private let openDescriptors: @Sendable () -> Int?

    /// The last count of open descriptors, and the sessions admitted since.
    private struct Count {
        var open = 0
        var at: NIODeadline?
        var admittedSince = 0
    }

    /// Descriptors a session may hold in the common case (control connections, a passive
    /// listener, a spliced data connection): while that many per session leave the reserve
    /// free, nothing is counted.
    static let perSession = 8
    /// How long a count of /proc/self/fd stands for: it costs a directory read of every
    /// descriptor, which a burst of connections near the limit must not pay each.
    static let countInterval = TimeAmount.milliseconds(50)

    /// The reserve for `limit` descriptors; by default the process's soft limit.
    package init(
        limit: Int? = nil,
        openDescriptors: @escaping @Sendable () -> Int? = DescriptorReserve.countOpenDescriptors
    ) {
        var limits = rlimit()
        let known = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0
        self.limit = limit ?? (known ? Int(min(limits.rlim_cur, 1 << 30)) : 1024)
        self.reserve = min(max(self.limit / 8, 16), 256)
        self.openDescriptors = openDescriptors
    }

    /// Whether a new session may start with `sessions` running: true at once while even that
    /// many transferring sessions would leave the reserve free; else the open descriptors are
    /// counted (at most every `countInterval`, each session admitted since counted as two).
    package func admitsSession(running sessions: Int, now: NIODeadline = .now()) -> Bool {
        if sessions * Self.perSession + 2 * self.reserve < self.limit { return true }
        return self.counted.withLockedValue { count in
            if count.at.map({ now - $0 >= Self.countInterval }) ?? true, let open = self.openDescriptors() {
                count = Count(open: open, at: now)
            }
            guard count.open + 2 * count.admittedSince + self.reserve <= self.limit else { return false }
            count.admittedSince += 1
            return true
        }
    }

    /// The descriptors open in this process, or nil if /proc cannot be read.
    package static func countOpenDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var entries = 0
        while readdir(directory) != nil { entries += 1 }
        // ".", ".." and the directory's own descriptor.
        return max(0, entries - 3)
    }

    /// Raises the process's soft open-file limit to the hard one (systemd leaves it at 1024 for
    /// select(2)'s sake, which ftplb does not use) and logs the limit in force.
    package static func raiseSoftLimit(logger: Logger) {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return }
        // An unlimited hard limit: at most the kernel's default nr_open, which setrlimit allows.
        let wanted = min(limits.rlim_max, 1 << 20)
        if wanted > limits.rlim_cur {
            var raised = limits
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limits = raised
            }
        }
        logger.info("open-file limit", metadata: ["ftp.nofile": "\(limits.rlim_cur)"])
    }

    /// Whether `error` says this process (or the host) is out of descriptors: not a fault of
    /// the peer it was about.
    package static func isExhaustion(_ error: any Error) -> Bool {
        let code: CInt
        switch error {
        case let error as NIOConnectionError:
            guard let first = error.connectionErrors.first else { return false }
            return Self.isExhaustion(first.error)
        case let error as IOError:
            code = error.errnoCode
        #if os(Linux)
        case let error as SystemCallError:
            code = error.errno
        #endif
        default:
            return false
        }
        return code == EMFILE || code == ENFILE
    }
}
