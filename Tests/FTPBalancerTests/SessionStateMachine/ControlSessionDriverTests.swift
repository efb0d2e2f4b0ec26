import FTPProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import FTPBalancer

/// The driver performs what the machine decides: a whole session, its server connection and its
/// data connection, without a socket.
@Suite struct ControlSessionDriverTests {
    @Test func aPassiveDownloadRunsFromGreetingToQuit() throws {
        let harness = try EmbeddedSessionHarness()
        #expect(harness.activeSessionsOnTheServer == 1)
        try harness.serverSends("220 Ready.")
        #expect(try harness.clientReceived() == ["220 Ready."])

        // Pipelined: the balancer keeps the order whatever the server's speed.
        try harness.clientSends("USER alice")
        try harness.clientSends("PASS secret")
        #expect(try harness.serverReceived() == ["USER alice", "PASS secret"])
        try harness.serverSends("331 Password required.")
        try harness.serverSends("230 Logged in.")
        #expect(try harness.clientReceived() == ["331 Password required.", "230 Logged in."])

        // RETR follows PASV at once; the server's replies to both keep their order.
        try harness.clientSends("PASV")
        try harness.clientSends("RETR file")
        #expect(try harness.serverReceived() == ["PASV", "RETR file"])
        try harness.serverSends("227 Entering Passive Mode (10,0,0,5,4,1).")
        try harness.serverSends("150 Opening data connection.")
        #expect(try harness.clientReceived() == ["227 Entering Passive Mode (198,51,100,1,156,64).", "150 Opening data connection."])
        let request = try #require(harness.dataPath.passiveRequests.last)
        #expect(request.server == (try SocketAddress(ipAddress: "10.0.0.5", port: 1025)))
        #expect(request.clientHost == "192.0.2.10")

        let flow = try #require(harness.dataPath.startFlow())
        #expect(harness.session.snapshot(now: .now()).state == .transferring)
        harness.dataPath.endFlow(flow, bytesToClient: 4096)
        try harness.serverSends("226 Transfer complete.")
        #expect(try harness.clientReceived() == ["226 Transfer complete."])

        try harness.clientSends("QUIT")
        try harness.serverSends("221 Goodbye.")
        try harness.server?.close().wait()
        harness.loop.run()
        #expect(try harness.clientReceived() == ["221 Goodbye."])
        #expect(!harness.client.isActive)
        #expect(harness.registry.count == 0)
        #expect(harness.activeSessionsOnTheServer == 0)
        #expect(harness.session.summary.ending == .quit)
        #expect(harness.session.summary.bytesToClient == 4096)
    }

    @Test func aShutdownWaitsForTheTransferThenSays421() throws {
        let harness = try EmbeddedSessionHarness()
        try harness.serverSends("220 Ready.")
        try harness.clientSends("EPSV")
        try harness.serverSends("229 Entering Extended Passive Mode (|||1025|)")
        try harness.clientSends("RETR file")
        let flow = try #require(harness.dataPath.startFlow(mode: .epsv))
        _ = try harness.clientReceived()
        harness.session.beginShutdown()
        #expect(harness.client.isActive)
        #expect(try harness.clientReceived() == [])
        harness.dataPath.endFlow(flow, bytesToClient: 10)
        try harness.serverSends("226 Transfer complete.")
        harness.loop.run()
        #expect(try harness.clientReceived() == ["226 Transfer complete.", BalancerReply.shuttingDown])
        #expect(!harness.client.isActive)
        #expect(harness.server?.isActive == false)
        #expect(harness.registry.count == 0)
        #expect(harness.activeSessionsOnTheServer == 0)
    }

    @Test func perUserGreetsItselfAndRelaysTheServersAnswerToUser() throws {
        let harness = try EmbeddedSessionHarness(algorithm: .perUser)
        #expect(harness.server == nil)
        #expect(try harness.clientReceived().first?.hasPrefix("220 ") == true)
        try harness.clientSends("AUTH TLS")
        #expect(try harness.clientReceived() == [BalancerReply.tlsUnavailable])
        try harness.clientSends("USER alice")
        #expect(try harness.serverReceived() == [])
        try harness.serverSends("220 Server greeting.")
        #expect(try harness.serverReceived() == ["USER alice"])
        try harness.serverSends("331 Password required.")
        #expect(try harness.clientReceived() == ["331 Password required."])
        #expect(harness.session.summary.user == "alice")
    }

    @Test func aClientThatLeavesEndsTheSessionAndClosesItsListener() throws {
        let harness = try EmbeddedSessionHarness()
        try harness.serverSends("220 Ready.")
        try harness.clientSends("EPSV")
        try harness.serverSends("229 Entering Extended Passive Mode (|||1025|)")
        #expect(try harness.clientReceived() == ["220 Ready.", "229 Entering Extended Passive Mode (|||40000|)"])
        try harness.client.close().wait()
        harness.loop.run()
        #expect(harness.dataPath.listeners.last?.closed == true)
        #expect(harness.server?.isActive == false)
        #expect(harness.registry.count == 0)
        #expect(harness.session.summary.ending == .clientClosed)
    }
}
