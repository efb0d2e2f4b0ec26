import CNIOBoringSSL
import NIOSSL

/// The one place the balancer reaches below swift-nio-ssl, which offers no way to bind TLS
/// sessions to one FTP session or to read whether a handshake resumed: it reads the `SSL *` of
/// a handler (`NIOSSLHandler.connection.ssl`) and the `SSL_CTX *` of a context
/// (`NIOSSLContext.sslContext`), both private, by reflection. Package.swift pins swift-nio-ssl
/// to the version this was written for, and `selfTest` runs at start-up: if the layout changes,
/// the balancer refuses to start with TLS rather than misjudge a resumption.
enum TLSConnectionInternals {
    /// The longest session id context BoringSSL takes (SSL_MAX_SID_CTX_LENGTH).
    static let maximumSessionContextLength = 32

    /// The handler's `SSL *`. Valid while the handler lives; use only on its event loop.
    static func connection(of handler: NIOSSLHandler) -> OpaquePointer? {
        guard let connection = Self.storedProperty("connection", of: handler) else { return nil }
        return Self.storedProperty("ssl", of: connection) as? OpaquePointer
    }

    static func context(of context: NIOSSLContext) -> OpaquePointer? {
        Self.storedProperty("sslContext", of: context) as? OpaquePointer
    }

    /// Sessions made under another session id context are never resumed (BoringSSL checks it
    /// for session ids and tickets alike): one per FTP session keeps its sessions to itself.
    static func setSessionContext(_ bytes: [UInt8], on ssl: OpaquePointer) -> Bool {
        precondition(bytes.count <= Self.maximumSessionContextLength)
        return bytes.withUnsafeBufferPointer { SSL_set_session_id_context(ssl, $0.baseAddress, $0.count) } == 1
    }

    static func sessionResumed(_ ssl: OpaquePointer) -> Bool {
        SSL_session_reused(ssl) == 1
    }

    static func cipherName(_ ssl: OpaquePointer) -> String? {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return nil }
        return String(cString: name)
    }

    static func versionName(_ ssl: OpaquePointer) -> String {
        String(cString: SSL_get_version(ssl))
    }

    /// The name the client asked for (SNI), if any.
    static func serverName(_ ssl: OpaquePointer) -> String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// Checks, on a handler made from `context`, that both private properties are where this
    /// file expects them: the handler's `SSL *` must belong to the context's `SSL_CTX *` and
    /// accept a session id context. Returns what is wrong, in operator words.
    static func selfTest(context: NIOSSLContext) -> String? {
        let handler = NIOSSLServerHandler(context: context)
        guard let sslContext = Self.context(of: context) else {
            return "the TLS library's context no longer has the layout this build expects"
        }
        guard let ssl = Self.connection(of: handler) else {
            return "the TLS library's handler no longer has the layout this build expects"
        }
        guard SSL_get_SSL_CTX(ssl) == sslContext, SSL_is_server(ssl) == 1 else {
            return "the TLS library's connection does not belong to its context"
        }
        guard Self.setSessionContext(Array(repeating: 7, count: Self.maximumSessionContextLength), on: ssl) else {
            return "the TLS library refused a session id context"
        }
        return nil
    }

    /// A stored property of a class instance, its superclasses included.
    private static func storedProperty(_ name: String, of instance: Any) -> Any? {
        var mirror: Mirror? = Mirror(reflecting: instance)
        while let current = mirror {
            if let child = current.children.first(where: { $0.label == name }) { return child.value }
            mirror = current.superclassMirror
        }
        return nil
    }
}
