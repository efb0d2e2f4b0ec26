#if os(Linux)
import Glibc

/// A system call of the splice data path failed: which one, and errno.
package struct SystemCallError: Error, Sendable, CustomStringConvertible {
    package var call: String
    package var errno: CInt

    /// Takes errno now: build it right after the failing call.
    package init(_ call: String, errno: CInt = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(self.call): \(String(cString: strerror(self.errno))) (errno \(self.errno))" }
}
#endif
