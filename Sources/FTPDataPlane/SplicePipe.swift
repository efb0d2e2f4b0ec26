#if os(Linux)
import CSplice
import Glibc
import Synchronization

/// One pipe of a relay direction: splice(2) moves bytes socket → pipe → socket without copying
/// them to user space. Its capacity bounds the bytes a direction holds, which is what makes a
/// slow reader hold the writer.
package struct SplicePipe: ~Copyable {
    let readEnd: Descriptor
    let writeEnd: Descriptor
    /// The capacity in force, which the kernel may have rounded up.
    let capacity: Int

    /// A pipe of `sizing`'s size, or of the kernel's default size when that is refused.
    init(sizing: SplicePipeSizing) throws(SystemCallError) {
        var descriptors: [CInt] = [-1, -1]
        guard csplice_pipe(&descriptors) == 0 else { throw SystemCallError("pipe2") }
        self.readEnd = Descriptor(descriptors[0])
        self.writeEnd = Descriptor(descriptors[1])
        self.capacity = sizing.apply(to: descriptors[1])
    }

    /// Closes both ends.
    consuming func close() {
        // Their deinits close them.
    }
}

/// The pipe size asked for, and what to do when the kernel refuses it: a process without
/// CAP_SYS_RESOURCE may not exceed /proc/sys/fs/pipe-max-size. `refused` hears of it once,
/// not once per pipe, and the core says it in its log.
package final class SplicePipeSizing: Sendable {
    package let requested: Int
    private let refusedOnce = Atomic<Bool>(false)
    private let refused: @Sendable (SystemCallError) -> Void

    package init(requested: Int, refused: @escaping @Sendable (SystemCallError) -> Void) {
        self.requested = requested
        self.refused = refused
    }

    /// Sets the size on a new pipe; the capacity in force.
    func apply(to descriptor: CInt) -> Int {
        if !self.refusedOnce.load(ordering: .relaxed) {
            let capacity = csplice_set_pipe_size(descriptor, CInt(clamping: self.requested))
            if capacity > 0 {
                return Int(capacity)
            }
            let error = SystemCallError("fcntl(F_SETPIPE_SZ)")
            if !self.refusedOnce.exchange(true, ordering: .relaxed) {
                self.refused(error)
            }
        }
        return max(Int(csplice_pipe_size(descriptor)), 4096)
    }
}
#endif
