import FTPBalancerConfig
import FTPProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import FTPBalancer

/// The session's timers on the event loop's clock, and the pre-login limit in the session table.
@Suite struct ControlSessionTimerDriverTests {
    @Test func aServerThatNeverGreetsIsLeftForTheNextWhichGetsTheClientsUser() throws {
        let harness = try EmbeddedSessionHarness(servers: ["10.0.0.5", "10.0.0.6"])
        let first = try #require(harness.server)
        try harness.clientSends("USER alice")
        harness.loop.advanceTime(by: .seconds(10))
        #expect(!first.isActive)
        #expect(harness.serversConnected.count == 2)
        #expect(Set(harness.serversConnected).count == 2)
        try harness.serverSends("220 Ready.")
        #expect(try harness.serverReceived() == ["USER alice"])
        #expect(try harness.clientReceived() == ["220 Ready."])
        #expect(harness.client.isActive)
    }

    @Test func withNoOtherServerASilentOneGetsTheClientA421() throws {
        let harness = try EmbeddedSessionHarness()
        harness.loop.advanceTime(by: .seconds(10))
        harness.loop.run()
        #expect(try harness.clientReceived().first?.hasPrefix("421 ") == true)
        #expect(!harness.client.isActive)
        #expect(harness.registry.count == 0)
        #expect(harness.activeSessionsOnTheServer == 0)
    }

    @Test func aClientThatDoesNotLogInInTimeIsClosed() throws {
        let harness = try EmbeddedSessionHarness()
        try harness.serverSends("220 Ready.")
        try harness.clientSends("USER alice")
        try harness.serverSends("331 Password required.")
        _ = try harness.clientReceived()
        harness.loop.advanceTime(by: .seconds(60))
        harness.loop.run()
        #expect(try harness.clientReceived() == [BalancerReply.loginTimeout])
        #expect(!harness.client.isActive)
        #expect(harness.session.summary.ending == .loginTimeout)
    }

    @Test func unauthenticatedSessionsOfOneAddressAreLimitedUntilOneLogsIn() throws {
        let registry = SessionTable()
        let limits = SessionLimitConfiguration(maxUnauthenticatedPerClient: 1)
        let first = try EmbeddedSessionHarness(limits: limits, registry: registry)
        #expect(first.refusal == nil)
        #expect(try EmbeddedSessionHarness(limits: limits, registry: registry).refusal == .unauthenticatedLimit)
        try first.serverSends("220 Ready.")
        try first.clientSends("USER alice")
        try first.serverSends("230 Logged in.")
        #expect(try EmbeddedSessionHarness(limits: limits, registry: registry).refusal == nil)
    }
}
