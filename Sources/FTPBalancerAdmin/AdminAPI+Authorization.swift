import FoundationEssentials

extension AdminAPI {
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
