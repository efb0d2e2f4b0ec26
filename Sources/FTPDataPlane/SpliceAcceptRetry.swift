#if os(Linux)
/// The accept loop of a data listener (passive or active), and what it does when accepting
/// fails, most likely for want of descriptors (EMFILE, ENFILE) or memory: under edge-triggered
/// epoll no new event comes for the connection still queued, so it tries again after a pause,
/// until it accepts or the listener's own timeout closes it. `failed` hears of the failure once
/// per listener, not once per try. On the loop's thread only.
package final class SpliceAcceptRetry {
    package static let pause = Duration.milliseconds(100)
    private let loop: SpliceEventLoop
    private let failed: (SystemCallError) -> Void
    private var timer: Int?
    private var warned = false

    package init(loop: SpliceEventLoop, failed: @escaping (SystemCallError) -> Void) {
        self.loop = loop
        self.failed = failed
    }

    /// Accepts every connection queued on the listener `listening()` returns (edge-triggered
    /// epoll says so once) and hands each to `admit` with its peer's address, until the queue
    /// is empty or the listener gone. A failure tries again after the pause.
    package func acceptAll(
        from listening: @escaping () -> CInt?,
        admit: @escaping (_ connection: consuming Descriptor, _ peer: SpliceAddress?) -> Void
    ) {
        while let descriptor = listening() {
            let next: AcceptedConnection?
            do {
                next = try SpliceSocket.accept(descriptor)
            } catch {
                self.schedule(after: error) { [weak self] in
                    self?.acceptAll(from: listening, admit: admit)
                }
                return
            }
            guard let connection = consume next else { return }
            let peer = connection.peer
            admit(connection.socket, peer)
        }
    }

    /// Runs `accept` again after the pause, unless a try is already due.
    private func schedule(after error: SystemCallError, _ accept: @escaping () -> Void) {
        if !self.warned {
            self.warned = true
            self.failed(error)
        }
        guard self.timer == nil else { return }
        self.timer = self.loop.schedule(in: Self.pause) { [weak self] in
            self?.timer = nil
            accept()
        }
    }

    package func cancel() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
    }
}
#endif
