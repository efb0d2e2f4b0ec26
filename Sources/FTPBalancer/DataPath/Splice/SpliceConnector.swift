#if os(Linux)
import CSplice
import Glibc
import NIOCore

/// Waits on a splice event loop for a nonblocking connect to end, within a timeout. On success
/// the socket goes to `completion`; on failure it is closed here.
final class SpliceConnector: SpliceEventHandler {
    private let loop: SpliceEventLoop
    private let descriptor: CInt
    private var token: UInt64?
    private var timer: Int?
    private var completion: ((Result<CInt, SystemCallError>) -> Void)?

    init(loop: SpliceEventLoop, descriptor: CInt, completion: @escaping (Result<CInt, SystemCallError>) -> Void) {
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
        self.finish(error == 0 ? .success(self.descriptor) : .failure(SystemCallError("connect", errno: error)))
    }

    func stop() {
        self.finish(.failure(SystemCallError("connect", errno: ECANCELED)))
    }

    private func finish(_ result: Result<CInt, SystemCallError>) {
        guard let completion = self.completion else { return }
        self.completion = nil
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        if let token = self.token { self.loop.deregister(token) }
        if case .failure = result {
            Glibc.close(self.descriptor)
        }
        completion(result)
    }
}
#endif
