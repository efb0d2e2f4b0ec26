#if os(Linux)
import CSplice
import Glibc

/// A thread of the process's own (not Swift's cooperative pool), named for ps and /proc: the
/// relay loops run on them, and the core's raw-socket watches too.
package enum NamedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `run` on a new joinable thread named `name` (at most 15 characters); the thread,
    /// named by the time this returns.
    package static func start(named name: String, _ run: @escaping () -> Void) throws(SystemCallError) -> pthread_t {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Body(run)).toOpaque()
        let result = pthread_create(
            &thread,
            nil,
            { context in
                Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            },
            context
        )
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemCallError("pthread_create", errno: result)
        }
        _ = csplice_name_thread(thread, name)
        return thread
    }
}
#endif
