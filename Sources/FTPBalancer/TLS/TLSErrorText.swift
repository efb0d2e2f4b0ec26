import NIOSSL

/// TLS failures in operator words: `TLS handshake failed: no shared cipher` rather than the
/// library's error stack with its codes and source paths.
enum TLSErrorText {
    static func describe(_ error: NIOSSLError) -> String {
        switch error {
        case .handshakeFailed(let reason): "TLS handshake failed: \(Self.describe(reason))"
        case .shutdownFailed(let reason): "TLS close failed: \(Self.describe(reason))"
        case .uncleanShutdown: "the peer closed the connection without ending TLS (no close_notify)"
        case .readInInvalidTLSState: "data arrived after TLS had ended"
        case .failedToLoadCertificate: "the certificate cannot be read"
        case .failedToLoadPrivateKey: "the private key cannot be read"
        case .noCertificateToValidate, .unableToValidateCertificate, .cannotMatchULabel, .cannotFindPeerIP:
            "the peer's certificate cannot be verified"
        default: "TLS failed"
        }
    }

    static func describe(_ error: BoringSSLError) -> String {
        switch error {
        case .sslError(let stack), .unknownError(let stack):
            Self.reasons(in: "\(stack)") ?? "the TLS library reported an error"
        case .zeroReturn: "the peer ended TLS"
        case .syscallError: "the connection failed"
        default: "the TLS library reported an error"
        }
    }

    /// The library's reason names (`...:NO_SHARED_CIPHER at file:line`), lower-cased and spaced.
    static func reasons(in text: String) -> String? {
        let words = text.split(separator: " ").compactMap { word -> String? in
            guard let reason = word.split(separator: ":").last, reason.count > 3,
                reason.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }), reason.contains(where: \.isLetter)
            else { return nil }
            return String(reason.map { $0 == "_" ? " " : $0 }).lowercased()
        }
        return words.isEmpty ? nil : words.joined(separator: "; ")
    }
}
