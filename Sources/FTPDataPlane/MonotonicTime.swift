#if os(Linux)
import Glibc

/// A point on the monotonic clock (CLOCK_MONOTONIC, as the kernel's uptime counts it), for the
/// plane's timers and its heartbeat. Nanoseconds, so that the core can compare it with its own
/// monotonic deadlines.
package struct MonotonicTime: Comparable, Hashable, Sendable {
    package var uptimeNanoseconds: UInt64

    package init(uptimeNanoseconds: UInt64) {
        self.uptimeNanoseconds = uptimeNanoseconds
    }

    package static func now() -> MonotonicTime {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicTime(uptimeNanoseconds: UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec))
    }

    package static func < (lhs: MonotonicTime, rhs: MonotonicTime) -> Bool {
        lhs.uptimeNanoseconds < rhs.uptimeNanoseconds
    }

    package static func + (lhs: MonotonicTime, rhs: Duration) -> MonotonicTime {
        let nanoseconds = rhs.nanoseconds
        if nanoseconds < 0 {
            let back = UInt64(clamping: -nanoseconds)
            return MonotonicTime(uptimeNanoseconds: lhs.uptimeNanoseconds > back ? lhs.uptimeNanoseconds - back : 0)
        }
        return MonotonicTime(uptimeNanoseconds: lhs.uptimeNanoseconds &+ UInt64(clamping: nanoseconds))
    }

    /// How long from `rhs` to `lhs`; negative when `lhs` is earlier.
    package static func - (lhs: MonotonicTime, rhs: MonotonicTime) -> Duration {
        .nanoseconds(Int64(bitPattern: lhs.uptimeNanoseconds &- rhs.uptimeNanoseconds))
    }
}

extension Duration {
    /// The whole duration in nanoseconds, clamped to Int64.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }
}
#endif
