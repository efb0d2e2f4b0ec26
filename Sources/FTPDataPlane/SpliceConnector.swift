#if os(Linux)
import CSplice
import Glibc

/// A connected socket on its way to a relay, with its registration on the splice event loop if
/// it has one already: the new owner takes that over with `SpliceEventLoop.reassign`, on the
/// loop's thread, before the loop waits again.
package struct SpliceSocketHandle: ~Copyable {
    package let descriptor: Descriptor
    package var token: UInt64?

    package init(descriptor: consuming Descriptor, token: UInt64? = nil) {
        self.descriptor = descriptor
        self.token = token
    }

    /// Closes the socket, dropping its registration.
    package consuming func close(on loop: SpliceEventLoop) {
        if let token = self.token { loop.forget(token) }
        self.descriptor.close()
    }

    /// The descriptor alone, its registration taken over by the caller.
    consuming func take() -> Descriptor {
        self.descriptor
    }
}

/// How a connect ended: the socket, still watched, or the error (the socket closed).
package enum SpliceConnectOutcome: ~Copyable {
    case connected(SpliceSocketHandle)
    case failed(SystemCallError)
}

/// Waits on a splice event loop for a nonblocking connect to end, within a timeout. On success
/// the socket, still watched, goes to `completion`; on failure it is closed here.
package final class SpliceConnector: SpliceEventHandler {
    private let loop: SpliceEventLoop
    private var socket: Descriptor?
    private var token: UInt64?
    private var timer: Int?
    private var completion: ((consuming SpliceConnectOutcome) -> Void)?

    package init(
        loop: SpliceEventLoop,
        socket: consuming Descriptor,
        completion: @escaping (consuming SpliceConnectOutcome) -> Void
    ) {
        self.loop = loop
        self.socket = consume socket
        self.completion = completion
    }

    /// On the loop's thread, once `connect` has been started on the socket.
    package func start(timeout: Duration) {
        guard let raw = self.socket?.raw else { return }
        do {
            self.token = try self.loop.register(raw, handler: self)
        } catch {
            self.finish(.failed(error))
            return
        }
        self.timer = self.loop.schedule(in: timeout) { [weak self] in
            self?.finish(.failed(SystemCallError("connect", errno: ETIMEDOUT)))
        }
    }

    package func handle(events: UInt32, on descriptor: CInt) {
        guard events & (csplice_event_out | csplice_event_error | csplice_event_hangup) != 0 else { return }
        let error = SpliceSocket.pendingError(descriptor)
        guard error == 0, let token = self.token, let socket = self.socket.take() else {
            self.finish(.failed(SystemCallError("connect", errno: error)))
            return
        }
        self.finish(.connected(SpliceSocketHandle(descriptor: socket, token: token)))
    }

    package func stop() {
        self.finish(.failed(SystemCallError("connect", errno: ECANCELED)))
    }

    private func finish(_ result: consuming SpliceConnectOutcome) {
        guard let completion = self.completion else { return }
        self.completion = nil
        if let timer = self.timer { self.loop.cancelTimer(timer) }
        // On failure the socket is still here: closed now, its registration dropped.
        if let socket = self.socket.take() {
            if let token = self.token { self.loop.forget(token) }
            socket.close()
        }
        completion(result)
    }
}
#endif
