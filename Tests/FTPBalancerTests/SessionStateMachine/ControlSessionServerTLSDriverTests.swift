import FTPBalancerConfig
import FTPProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import FTPBalancer

/// `server_tls` as the driver performs it, without a socket.
@Suite struct ControlSessionServerTLSDriverTests {
    /// A refusal is a failed connect for the pool, which gives the session's lease back; the
    /// session's end must not give it back again, which took another session's place in the
    /// server's count (and so in `max_sessions` and least-connections).
    @Test func aServerThatRefusesAuthTLSGivesItsLeaseBackOnce() throws {
        let serverTLS = try ServerTLSContext(configuration: ServerTLSConfiguration(mode: .explicit, verify: false))
        let refused = try EmbeddedSessionHarness(serverTLS: serverTLS)
        let other = try EmbeddedSessionHarness(sharing: refused)
        #expect(other.activeSessionsOnTheServer == 2)

        try refused.serverSends("220 Ready.")
        #expect(try refused.serverReceived() == ["AUTH TLS"])
        try refused.clientSends("USER anna")
        try refused.serverSends("502 AUTH not supported.")
        refused.loop.run()
        #expect(try refused.clientReceived() == ["220 Ready.", BalancerReply.serverTLSFailed])
        #expect(try refused.serverReceived() == [], "USER reached a server that would not be secured")
        #expect(!refused.client.isActive)
        #expect(refused.session.summary.ending == .serverTLSFailed)
        #expect(other.activeSessionsOnTheServer == 1)
    }
}
