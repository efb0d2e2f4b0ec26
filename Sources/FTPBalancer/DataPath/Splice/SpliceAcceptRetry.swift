#if os(Linux)
import Logging
import NIOCore

/// Accepting on a data listener failed, most likely for want of descriptors (EMFILE, ENFILE) or
/// memory. Under edge-triggered epoll no new event comes for the connection still queued, so
/// the listener tries again after a pause, until it accepts or its own timeout closes it. Said
/// once per listener, not once per try. On the loop's thread only.
final class SpliceAcceptRetry {
    static let pause = TimeAmount.milliseconds(100)
    private let loop: SpliceEventLoop
    private var timer: Int?
    private var warned = false

    init(loop: SpliceEventLoop) {
        self.loop = loop
    }

    /// Runs `accept` again after the pause, unless a try is already due.
    func schedule(after error: SystemCallError, logger: Logger, metadata: Logger.Metadata, _ accept: @escaping () -> Void) {
        if !self.warned {
            self.warned = true
            var metadata = metadata
            metadata["ftp.error"] = "\(error)"
            logger.warning("accept failed on a data listener; trying again every 100 ms until it times out", metadata: metadata)
        }
        guard self.timer == nil else { return }
        self.timer = self.loop.schedule(in: Self.pause) { [weak self] in
            self?.timer = nil
            accept()
        }
    }

    func cancel() {
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        self.timer = nil
    }
}
#endif
