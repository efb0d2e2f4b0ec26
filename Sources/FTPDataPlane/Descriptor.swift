#if os(Linux)
import Glibc

/// A file descriptor the data plane owns: it closes exactly once, by `close()` or when the
/// owner drops it. Noncopyable, so that no two owners can close the same number, and none can
/// close a number the kernel has since given to another socket.
package struct Descriptor: ~Copyable, Sendable {
    /// The number, for system calls while the owner holds it; never closed through it.
    package let raw: CInt

    /// Takes ownership of `raw`.
    package init(_ raw: CInt) {
        self.raw = raw
    }

    /// Closes the descriptor now.
    package consuming func close() {
        // The deinit closes it.
    }

    /// Gives the number up without closing it: a caller hands it to something that closes it.
    package consuming func release() -> CInt {
        let raw = self.raw
        discard self
        return raw
    }

    deinit {
        Glibc.close(self.raw)
    }
}
#endif
