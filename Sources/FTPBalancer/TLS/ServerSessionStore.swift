import NIOConcurrencyHelpers

/// The newest TLS session of one server control connection, which its data connections offer
/// to resume. Written by BoringSSL's callback on the control connection's event loop, read when
/// a data connection is made; each `SSL_SESSION` reference it holds is freed once replaced.
package final class ServerSessionStore: Sendable {
    private let newest = NIOLockedValueBox<SessionReference?>(nil)

    /// Takes over the caller's reference.
    func keep(_ session: OpaquePointer) {
        self.newest.withLockedValue { $0 = SessionReference(session) }
    }

    /// Runs `body` with the newest session, if any, which stays valid meanwhile.
    func withNewest(_ body: (OpaquePointer?) -> Bool) -> Bool {
        self.newest.withLockedValue { body($0?.session) }
    }
}

/// One owned `SSL_SESSION` reference.
private final class SessionReference: @unchecked Sendable {
    let session: OpaquePointer

    init(_ session: OpaquePointer) {
        self.session = session
    }

    deinit {
        TLSConnectionInternals.freeSession(self.session)
    }
}
