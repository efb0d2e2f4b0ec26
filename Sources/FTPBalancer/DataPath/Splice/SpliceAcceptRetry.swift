#if os(Linux)
import FTPProtocol
import Logging
import NIOCore

/// The accept loop of a data listener (passive or active), and what it does when accepting
/// fails, most likely for want of descriptors (EMFILE, ENFILE) or memory: under edge-triggered
/// epoll no new event comes for the connection still queued, so it tries again after a pause,
/// until it accepts or the listener's own timeout closes it. The failure is said once per
/// listener, not once per try. On the loop's thread only.
final class SpliceAcceptRetry {
    static let pause = TimeAmount.milliseconds(100)
    private let loop: SpliceEventLoop
    private var timer: Int?
    private var warned = false

    init(loop: SpliceEventLoop) {
        self.loop = loop
    }

    /// Accepts every connection queued on the listener `listening()` returns (edge-triggered
    /// epoll says so once) and hands each to `admit` with its peer's canonical address, until
    /// the queue is empty or the listener gone. A failure tries again after the pause.
    func acceptAll(
        from listening: @escaping () -> CInt?,
        logger: Logger,
        metadata: @escaping @autoclosure () -> Logger.Metadata,
        admit: @escaping (_ connection: CInt, _ peer: String) -> Void
    ) {
        while let descriptor = listening() {
            let next: (descriptor: CInt, peer: SocketAddress?)?
            do {
                next = try SpliceSocket.accept(descriptor)
            } catch {
                self.schedule(after: error, logger: logger, metadata: metadata) { [weak self] in
                    self?.acceptAll(from: listening, logger: logger, metadata: metadata(), admit: admit)
                }
                return
            }
            guard let (connection, address) = next else { return }
            admit(connection, address.flatMap(ControlSessionStateMachine.canonical) ?? "?")
        }
    }

    /// Runs `accept` again after the pause, unless a try is already due.
    private func schedule(
        after error: SystemCallError,
        logger: Logger,
        metadata: () -> Logger.Metadata,
        _ accept: @escaping () -> Void
    ) {
        if !self.warned {
            self.warned = true
            var metadata = metadata()
            metadata["ftp.error"] = "\(OperatorText.describe(error))"
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
