import Foundation

/// Percent-encoding of one URL path segment or query value (RFC 3986): server names such as
/// `[2001:db8::1]:21` travel in paths. Foundation's, which FoundationEssentials does not offer.
package enum PercentEncoding {
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )

    /// Unreserved characters stay; everything else becomes %XX of its UTF-8 bytes.
    package static func encode(_ text: String) -> String {
        // Nil only for text that is not Unicode, which a String never is.
        text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? text
    }

    /// Nil for a malformed escape or bytes that are not UTF-8.
    package static func decode(_ text: some StringProtocol) -> String? {
        text.removingPercentEncoding
    }
}
