#if os(Linux)
import CSplice
import Glibc
import NIOCore

/// A connected socket on its way to a relay, with its registration on the splice event loop if
/// it has one already: the new owner takes that over with `SpliceEventLoop.reassign`, on the
/// loop's thread, before the loop waits again.
struct SpliceSocketHandle {
    let descriptor: CInt
    var token: UInt64?

    /// Closes the socket, dropping its registration.
    func close(on loop: SpliceEventLoop) {
        if let token = self.token { loop.forget(token) }
        Glibc.close(self.descriptor)
    }
}

/// Waits on a splice event loop for a nonblocking connect to end, within a timeout. On success
/// the socket, still watched, goes to `completion`; on failure it is closed here.
final class SpliceConnector: SpliceEventHandler {
    private let loop: SpliceEventLoop
    private let descriptor: CInt
    private var token: UInt64?
    private var timer: Int?
    private var completion: ((Result<SpliceSocketHandle, SystemCallError>) -> Void)?

    init(
        loop: SpliceEventLoop,
        descriptor: CInt,
        completion: @escaping (Result<SpliceSocketHandle, SystemCallError>) -> Void
    ) {
        self.loop = loop
        self.descriptor = descriptor
        self.completion = completion
    }

    /// On the loop's thread, once `connect` has been started on the socket.
    func start(timeout: TimeAmount) {
        do {
            self.token = try self.loop.register(self.descriptor, handler: self)
        } catch {
            self.finish(.failure(error))
            return
        }
        self.timer = self.loop.schedule(in: timeout) { [weak self] in
            self?.finish(.failure(SystemCallError("connect", errno: ETIMEDOUT)))
        }
    }

    func handle(events: UInt32, on descriptor: CInt) {
        guard events & (csplice_event_out | csplice_event_error | csplice_event_hangup) != 0 else { return }
        let error = SpliceSocket.pendingError(self.descriptor)
        guard error == 0, let token = self.token else {
            self.finish(.failure(SystemCallError("connect", errno: error)))
            return
        }
        self.finish(.success(SpliceSocketHandle(descriptor: self.descriptor, token: token)))
    }

    func stop() {
        self.finish(.failure(SystemCallError("connect", errno: ECANCELED)))
    }

    private func finish(_ result: Result<SpliceSocketHandle, SystemCallError>) {
        guard let completion = self.completion else { return }
        self.completion = nil
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        if case .failure = result {
            if let token = self.token { self.loop.forget(token) }
            Glibc.close(self.descriptor)
        }
        completion(result)
    }
}
#endif
