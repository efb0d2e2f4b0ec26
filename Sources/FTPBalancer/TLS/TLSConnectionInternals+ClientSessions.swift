import CNIOBoringSSL
import NIOSSL

/// The balancer as a TLS client of its servers must offer each data connection the session of
/// the server control connection (vsftpd's `require_ssl_reuse`, ProFTPD mod_tls and FileZilla
/// Server refuse anything else), and swift-nio-ssl has no client-side resumption. This sibling
/// of `TLSConnectionInternals`, under the same discipline (the handler and context read through
/// it, `selfTestClient` run when the context is made), keeps each control connection's newest
/// session through BoringSSL's new-session callback: a TLS 1.3 server sends its tickets after
/// the handshake, so `SSL_get1_session` right after it would be too early.
extension TLSConnectionInternals {
    /// The `SSL` extra-data slot holding a control connection's `ServerSessionStore`, retained
    /// by the slot and released when BoringSSL frees the `SSL`.
    private static let storeIndex: Int32 = SSL_get_ex_new_index(
        0, nil, nil, nil,
        { _, pointer, _, _, _, _ in
            guard let pointer else { return }
            Unmanaged<ServerSessionStore>.fromOpaque(pointer).release()
        }
    )

    /// New sessions of a connection with a store go to it; those of others (data connections)
    /// are dropped. Internal caching is off: the balancer decides what each connection offers.
    static func enableClientSessions(on context: NIOSSLContext) -> Bool {
        guard let sslContext = Self.context(of: context), Self.storeIndex >= 0 else { return false }
        SSL_CTX_set_session_cache_mode(sslContext, Int32(SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL))
        SSL_CTX_sess_set_new_cb(sslContext) { ssl, session in
            guard let ssl, let session, let pointer = SSL_get_ex_data(ssl, TLSConnectionInternals.storeIndex) else { return 0 }
            Unmanaged<ServerSessionStore>.fromOpaque(pointer).takeUnretainedValue().keep(session)
            // 1: the reference the callback got is now the store's.
            return 1
        }
        return true
    }

    /// The connection's sessions will be kept in `store`.
    static func keepSessions(of ssl: OpaquePointer, in store: ServerSessionStore) -> Bool {
        let pointer = Unmanaged.passRetained(store).toOpaque()
        guard SSL_set_ex_data(ssl, Self.storeIndex, pointer) == 1 else {
            Unmanaged<ServerSessionStore>.fromOpaque(pointer).release()
            return false
        }
        return true
    }

    /// Offers `session` in the handshake `ssl` has not begun yet.
    static func offer(_ session: OpaquePointer, on ssl: OpaquePointer) -> Bool {
        SSL_set_session(ssl, session) == 1
    }

    static func freeSession(_ session: OpaquePointer) {
        SSL_SESSION_free(session)
    }

    /// Checks, on a client handler made from `context`, that its `SSL *` is where this file
    /// expects it, belongs to the context, and takes a session store.
    static func selfTestClient(context: NIOSSLContext) -> String? {
        guard let handler = try? NIOSSLClientHandler(context: context, serverHostname: nil) else {
            return "the TLS library cannot make a client connection"
        }
        guard let sslContext = Self.context(of: context), let ssl = Self.connection(of: handler) else {
            return "the TLS library's handler or context no longer has the layout this build expects"
        }
        guard SSL_get_SSL_CTX(ssl) == sslContext, SSL_is_server(ssl) == 0 else {
            return "the TLS library's connection does not belong to its context"
        }
        guard Self.keepSessions(of: ssl, in: ServerSessionStore()) else {
            return "the TLS library refused to keep a connection's sessions"
        }
        return nil
    }
}
