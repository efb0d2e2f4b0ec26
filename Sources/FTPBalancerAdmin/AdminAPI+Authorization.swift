import FoundationEssentials
import NIOCore

extension AdminAPI {
    /// The answer to a request that may not be served, or nil: `429` while its address has made
    /// too many requests with a wrong token (`AuthorizationFailureLimit`), `401` for a missing or
    /// wrong token. Each 401 is logged; the 429s once per window.
    func authorizationRefusal(_ request: AdminRequest, token: String, now: NIODeadline) -> AdminResponse? {
        let address = request.peerAddress
        let decision = self.authorizationFailures.withLockedValue { $0.check(address: address, now: now) }
        if case .limited(let retryAfter, let first) = decision {
            self.balancer.metrics.adminRequestRefused(reason: "rate_limited")
            if first {
                self.logger.warning(
                    "admin API: too many requests with a wrong token from this address; refusing its requests for \(retryAfter)s",
                    metadata: ["ftp.admin.peer": "\(request.peer)"]
                )
            }
            var response = AdminResponse.error(
                .tooManyRequests,
                "too many requests with a missing or wrong token from \(address); try again in \(retryAfter)s"
            )
            response.headers.append(("Retry-After", "\(retryAfter)"))
            return response
        }
        guard !Self.authorized(request.authorization, token: token) else { return nil }
        self.authorizationFailures.withLockedValue { $0.failed(address: address, now: now) }
        self.balancer.metrics.adminRequestRefused(reason: "wrong_token")
        self.logger.notice(
            "admin API: request refused: missing or wrong token",
            metadata: ["ftp.admin.peer": "\(request.peer)"]
        )
        var response = AdminResponse.error(
            .unauthorized,
            "a valid token is required: send Authorization: Bearer TOKEN, or the token as Basic password (admin.token)"
        )
        // The status page is opened by a browser, which prompts for Basic credentials only.
        let scheme = request.path == StatusPage.path ? "Basic" : "Bearer"
        response.headers.append(("WWW-Authenticate", "\(scheme) realm=\"ftplb\""))
        return response
    }

    /// Basic credentials are a user name and a token of at most 256 characters: anything much
    /// longer is not a credential and is refused before decoding.
    static let basicCredentialsLimit = 1024

    /// `Bearer TOKEN`, or `Basic` credentials with the token as password and any user name: a
    /// browser cannot send a bearer token when it opens the status page, but asks for a user name
    /// and password when told to. Compared in constant time: how long it takes does not tell how
    /// much of a guess was right.
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, let space = header.utf8.firstIndex(of: UInt8(ascii: " ")) else { return false }
        // The scheme is case-insensitive (RFC 9110); the credentials are not.
        let scheme = String(header.utf8[..<space])?.lowercased() ?? ""
        let credentials = header.utf8[header.utf8.index(after: space)...]
        let given: [UInt8]
        switch scheme {
        case "bearer":
            given = Array(credentials)
        case "basic":
            // Strict RFC 4648: no whitespace, no missing padding.
            guard credentials.count <= Self.basicCredentialsLimit,
                let decoded = Data(base64Encoded: Data(credentials)).map(Array.init),
                let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
            else { return false }
            given = Array(decoded[(colon + 1)...])
        default:
            return false
        }
        let expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

extension AdminRequest {
    /// The caller's address without its port: what the wrong-token limit counts by.
    var peerAddress: String {
        guard let colon = self.peer.lastIndex(of: ":") else { return self.peer }
        return String(self.peer[..<colon])
    }
}
