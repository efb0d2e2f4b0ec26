/// A value on the control connection that cannot be understood.
package struct FTPProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    package enum Code: Equatable, Sendable {
        /// PORT argument or 227 reply not of the form h1,h2,h3,h4,p1,p2.
        case malformedHostPort
        /// EPRT argument not of the form <d>proto<d>address<d>port<d>.
        case malformedExtendedAddress
        /// EPRT naming a network protocol other than 1 (IPv4) or 2 (IPv6).
        case unsupportedNetworkProtocol
        /// 229 reply without (<d><d><d>port<d>).
        case malformedExtendedPassiveReply
    }

    package var code: Code
    /// The offending text, shortened, for the log line.
    package var input: String

    package init(_ code: Code, input: some StringProtocol) {
        self.code = code
        self.input = String(input.prefix(80))
    }

    package var description: String { "\(self.code): \(self.input)" }
}
