#if os(Linux)
/// Empty pipes kept for the next relays of one loop: creating, sizing and closing two pipes
/// cost eight system calls per data connection. Each holds two descriptors and the kernel's
/// ring for `pipe_size` bytes, but no pages once drained. A fixed stack, since an Array cannot
/// hold a noncopyable pipe; what it still holds when dropped is closed.
struct SplicePipePool: ~Copyable {
    static let limit = 32
    private let storage = UnsafeMutablePointer<SplicePipe>.allocate(capacity: Self.limit)
    private var count = 0

    /// Keeps `pipe`, or closes it when the pool is full.
    mutating func put(_ pipe: consuming SplicePipe) {
        guard self.count < Self.limit else {
            pipe.close()
            return
        }
        (self.storage + self.count).initialize(to: pipe)
        self.count += 1
    }

    mutating func take() -> SplicePipe? {
        guard self.count > 0 else { return nil }
        self.count -= 1
        return (self.storage + self.count).move()
    }

    /// Closes every pipe held.
    mutating func closeAll() {
        self.storage.deinitialize(count: self.count)
        self.count = 0
    }

    deinit {
        self.storage.deinitialize(count: self.count)
        self.storage.deallocate()
    }
}
#endif
