#if os(Linux)
import CSplice
import Glibc
import Logging
import Synchronization

/// One pipe of a relay direction: splice(2) moves bytes socket → pipe → socket without copying
/// them to user space. Its capacity bounds the bytes a direction holds, which is what makes a
/// slow reader hold the writer.
struct SplicePipe {
    let readEnd: CInt
    let writeEnd: CInt
    /// The capacity in force, which the kernel may have rounded up.
    let capacity: Int

    /// A pipe of `sizing`'s size, or of the kernel's default size when that is refused.
    init(sizing: SplicePipeSizing) throws(SystemCallError) {
        var descriptors: [CInt] = [-1, -1]
        guard csplice_pipe(&descriptors) == 0 else { throw SystemCallError("pipe2") }
        self.readEnd = descriptors[0]
        self.writeEnd = descriptors[1]
        self.capacity = sizing.apply(to: descriptors[1])
    }

    func close() {
        Glibc.close(self.readEnd)
        Glibc.close(self.writeEnd)
    }
}

/// The pipe size asked for, and what to do when the kernel refuses it: a process without
/// CAP_SYS_RESOURCE may not exceed /proc/sys/fs/pipe-max-size. That is said once, not per pipe.
final class SplicePipeSizing: Sendable {
    let requested: Int
    private let refused = Atomic<Bool>(false)
    private let logger: Logger

    init(requested: Int, logger: Logger) {
        self.requested = requested
        self.logger = logger
    }

    /// Sets the size on a new pipe; the capacity in force.
    func apply(to descriptor: CInt) -> Int {
        if !self.refused.load(ordering: .relaxed) {
            let capacity = csplice_set_pipe_size(descriptor, CInt(clamping: self.requested))
            if capacity > 0 {
                return Int(capacity)
            }
            let error = SystemCallError("fcntl(F_SETPIPE_SZ)")
            if !self.refused.exchange(true, ordering: .relaxed) {
                self.logger.warning(
                    "data_path.pipe_size refused by the kernel (above fs.pipe-max-size without CAP_SYS_RESOURCE?); using the default pipe size",
                    metadata: ["ftp.pipe_size": "\(self.requested)", "ftp.error": "\(OperatorText.describe(error))"]
                )
            }
        }
        return max(Int(csplice_pipe_size(descriptor)), 4096)
    }
}
#endif
