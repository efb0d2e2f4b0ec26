#if os(Linux)
import FTPDataPlane
import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

@Suite("The canonical host of a data connection's peer")
struct SpliceCanonicalHostTests {
    @Test(
        "An IPv4 peer's host is the text the control session's canonical form gives it.",
        arguments: ["10.88.1.2", "0.0.0.0", "255.255.255.255", "127.0.45.1", "192.0.2.100"]
    )
    func ipv4PeerHasTheControlSessionsCanonicalText(_ host: String) throws {
        let address = try SocketAddress(ipAddress: host, port: 40001)
        #expect(SpliceAddress.canonicalHost(try SpliceAddress.from(address)) == IPAddress.canonical(address))
    }

    @Test(
        "An IPv6 peer's host, IPv4-mapped or not, is the canonical text too.",
        arguments: ["::ffff:10.88.1.2", "2001:db8::10", "::1"]
    )
    func ipv6PeerHasTheControlSessionsCanonicalText(_ host: String) throws {
        let address = try SocketAddress(ipAddress: host, port: 40001)
        #expect(SpliceAddress.canonicalHost(try SpliceAddress.from(address)) == IPAddress.canonical(address))
    }

    @Test("An unknown peer is a question mark.")
    func unknownPeerIsAQuestionMark() {
        #expect(SpliceAddress.canonicalHost(nil) == "?")
    }
}
#endif
