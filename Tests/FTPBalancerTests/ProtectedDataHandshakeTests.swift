import FTPBalancerConfig
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import FTPBalancer

/// The client side of a protected data connection, judged in memory. The FTP client is played
/// by the balancer's own TLS client (`server_tls`'s handlers), which offers the control
/// connection's session on its data connections as FTPS clients do.
@Suite final class ProtectedDataHandshakeTests {
    let files: TLSTestFiles
    let clientSide: ServerTLSContext

    init() throws {
        self.files = try TLSTestFiles()
        self.clientSide = try ServerTLSContext(configuration: ServerTLSConfiguration(mode: .explicit, verify: false))
    }

    deinit {
        self.files.remove()
    }

    func service(reuse: ClientTLSConfiguration.SessionReuse) throws -> ClientTLSContext {
        try self.files.key("main.key")
        try self.files.selfSigned("main.pem", key: "main.key")
        let identity = ClientTLSConfiguration.Identity(certificateFile: self.files.path("main.pem"), privateKeyFile: self.files.path("main.key"))
        return try ClientTLSContext.load(ClientTLSConfiguration(mode: .explicit, identity: identity, sessionReuse: reuse))
    }

    /// A control connection's handshake between `session` and the client; the sessions the
    /// client is issued land in the returned store.
    func controlHandshake(_ session: SessionTLS) throws -> ServerSessionStore {
        let store = ServerSessionStore()
        let server = EmbeddedChannel(handler: try #require(session.makeHandler()))
        let client = EmbeddedChannel(handler: try #require(self.clientSide.makeControlHandler(keepingSessionsIn: store)))
        try Self.connect(server, client)
        try Self.pump(server, client)
        // A TLS 1.3 client reads its tickets with the first data after the handshake, here the
        // reply to its PBSZ.
        try server.writeAndFlush(ByteBuffer(string: "200 PBSZ=0\r\n")).wait()
        try Self.pump(server, client)
        #expect(try client.readInbound(as: ByteBuffer.self) == ByteBuffer(string: "200 PBSZ=0\r\n"))
        #expect(store.withNewest { $0 != nil }, "the client kept no session of the control connection")
        return store
    }

    @Test func aDataConnectionResumingItsControlSessionIsAdmittedAsResumed() throws {
        let session = SessionTLS(context: try self.service(reuse: .required))
        let store = try self.controlHandshake(session)
        let data = try DataConnection(session.dataProtection, client: self.clientSide, offering: store)
        try data.handshake()
        #expect(data.observer.connecting == 1)
        #expect(data.observer.outcomes.count == 1)
        guard case .resumed(let negotiation)? = data.observer.outcomes.first else {
            Issue.record("not admitted as resumed: \(data.observer.outcomes)")
            return
        }
        #expect(negotiation.resumed)
        #expect(data.admitted == negotiation)
        #expect(data.refused == 0)
    }

    @Test func aFreshHandshakeUnderRequiredIsRefusedAndNeverAdmitted() throws {
        let data = try self.offeringNoSession(reuse: .required)
        try data.handshake()
        Self.expectRefused(data)
    }

    /// The session id context binds a TLS session to its FTP session: another session's data
    /// connection cannot ride on it.
    @Test func aSessionOfAnotherFTPSessionIsNotResumed() throws {
        let service = try self.service(reuse: .required)
        let store = try self.controlHandshake(SessionTLS(context: service))
        let data = try DataConnection(SessionTLS(context: service).dataProtection, client: self.clientSide, offering: store)
        try data.handshake()
        Self.expectRefused(data)
    }

    @Test func aFreshHandshakeUnderPreferredGoesOnAsNotResumed() throws {
        let data = try self.offeringNoSession(reuse: .preferred)
        try data.handshake()
        guard case .notResumed(let negotiation)? = data.observer.outcomes.first else {
            Issue.record("not let on: \(data.observer.outcomes)")
            return
        }
        #expect(data.admitted == negotiation)
        #expect(data.refused == 0)
    }

    @Test func noHandshakeWithinTheIdleTimeoutFailsAndResetsTheRelay() throws {
        let data = try self.offeringNoSession(reuse: .required)
        try data.connectServerSide()
        data.server.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(data.observer.outcomes == [.failed("no TLS handshake within the data idle timeout")])
        #expect(data.refused == 1)
    }

    @Test func aConnectionClosedBeforeItsHandshakeEndedFailsOnce() throws {
        let data = try self.offeringNoSession(reuse: .required)
        try data.connectServerSide()
        _ = try? data.server.finish()
        #expect(data.observer.connecting == 1)
        #expect(data.observer.outcomes == [.failed("closed before its TLS handshake ended")])
    }

    @Test func aClientThatSpeaksNoTLSFailsInOperatorWords() throws {
        let data = try self.offeringNoSession(reuse: .required)
        try data.connectServerSide()
        _ = try? data.server.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        guard case .failed(let reason)? = data.observer.outcomes.first else {
            Issue.record("not failed: \(data.observer.outcomes)")
            return
        }
        #expect(!reason.isEmpty && !reason.contains("NIOSSLError") && !reason.contains("OPENSSL_internal"), "\(reason)")
        #expect(data.refused == 1)
        #expect(data.admitted == nil)
    }

    /// A data connection of a new FTP session, whose client has no session to offer.
    private func offeringNoSession(reuse: ClientTLSConfiguration.SessionReuse) throws -> DataConnection {
        let session = SessionTLS(context: try self.service(reuse: reuse))
        return try DataConnection(session.dataProtection, client: self.clientSide, offering: ServerSessionStore())
    }

    private static func expectRefused(_ data: DataConnection) {
        guard case .refused(let negotiation)? = data.observer.outcomes.first else {
            Issue.record("not refused: \(data.observer.outcomes)")
            return
        }
        #expect(!negotiation.resumed)
        #expect(data.admitted == nil)
        #expect(data.refused == 1)
    }

    static func connect(_ server: EmbeddedChannel, _ client: EmbeddedChannel) throws {
        try server.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 50000)).wait()
        try client.connect(to: SocketAddress(ipAddress: "198.51.100.1", port: 21)).wait()
    }

    /// Carries each side's bytes to the other until neither has any left to send, or one side
    /// has closed (a refused connection is reset).
    static func pump(_ server: EmbeddedChannel, _ client: EmbeddedChannel) throws {
        for _ in 0..<32 {
            var moved = false
            while server.isActive, client.isActive, let bytes = try client.readOutbound(as: ByteBuffer.self) {
                try server.writeInbound(bytes)
                moved = true
            }
            while server.isActive, client.isActive, let bytes = try server.readOutbound(as: ByteBuffer.self) {
                try client.writeInbound(bytes)
                moved = true
            }
            if !moved { return }
        }
    }
}

/// One protected data connection: its server side (the balancer's, with `ProtectedDataHandshake`)
/// and the FTP client's, offering the sessions in a store.
private final class DataConnection {
    let observer = HandshakeObserver()
    let server: EmbeddedChannel
    let client: EmbeddedChannel
    var admitted: TLSNegotiation?
    var refused = 0

    init(_ protection: DataProtection, client context: ServerTLSContext, offering store: ServerSessionStore) throws {
        let tls = try #require(protection.makeHandler())
        let clientTLS = try #require(ServerDataProtection(context: context, sessions: store).makeHandler())
        self.server = EmbeddedChannel()
        self.client = EmbeddedChannel(handler: clientTLS)
        let handshake = ProtectedDataHandshake(
            tlsHandler: tls,
            sessionReuse: protection.sessionReuse,
            observer: self.observer,
            admit: { [unowned self] _, negotiation in self.admitted = negotiation },
            refuse: { [unowned self] channel in
                self.refused += 1
                channel.close(promise: nil)
            }
        )
        try self.server.pipeline.syncOperations.addHandlers([tls, handshake])
    }

    func connectServerSide() throws {
        try self.server.connect(to: SocketAddress(ipAddress: "192.0.2.10", port: 50000)).wait()
    }

    func handshake() throws {
        try ProtectedDataHandshakeTests.connect(self.server, self.client)
        try ProtectedDataHandshakeTests.pump(self.server, self.client)
    }
}

private final class HandshakeObserver: DataFlowObserver {
    var connecting = 0
    var outcomes: [ProtectedDataOutcome] = []

    func dataFlowStarted(_ flow: DataFlow) {}
    func dataFlowEnded(_ flow: DataFlow, report: DataFlowReport) {}
    func protectedDataConnecting() { self.connecting += 1 }
    func protectedDataSettled(_ outcome: ProtectedDataOutcome) { self.outcomes.append(outcome) }
}
