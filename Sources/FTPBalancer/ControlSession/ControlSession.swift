import FTPBalancerConfig
import FTPProtocol
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// One client control connection and its upstream connection to one server: the driver of
/// `ControlSession.StateMachine`, which decides; the session performs, and owns only the
/// channels, listeners, timers and lease. Confined to the client channel's event loop; the server
/// channel and every data channel of the session live on the same loop.
final class ControlSession {
    let id: Int
    let service: VirtualService
    let registry: SessionTable
    let clientChannel: Channel
    /// The client's address, canonical: the only one allowed on its passive ports.
    let clientHost: String
    /// The address this client is told to connect to, of the family of the listener it reached:
    /// passive replies name it, passive ports open on it, active connections leave from it.
    let advertisedAddress: String
    let dataPath: any DataPath
    let transferLog: TransferLog
    var logger: Logger
    var summary: SessionSummary

    // Weak: the handlers own the session, and the channels own the handlers.
    private(set) weak var clientHandler: ControlConnectionHandler?
    weak var serverHandler: ControlConnectionHandler?
    var serverChannel: Channel?
    let serverConnector: any ServerConnector
    /// Decides when each line is handled and what happens next; the session performs it.
    var machine: StateMachine
    /// The server this session holds in its pool, once connected.
    var lease: ServerLease?
    /// Servers this session failed to reach; the pool offers each at most once.
    var triedServers: Set<Int> = []

    var passiveListener: (any DataListener)?
    var activeListener: (any DataListener)?
    /// The data connections moving bytes now: what the admin API's snapshots show.
    var liveDataFlows: [DataFlow] = []
    /// Transfer commands waiting for their reply and data connection, for the transfer log.
    var transfers = TransferTracker()
    /// Whoever follows this session with `ftplb trace`; empty nearly always.
    var tracers: [TraceSubscriber] = []
    /// Set once the session has ended: a trace that arrives later only hears that.
    var tracingEnded = false
    var timers = Timers()
    /// How long the server's TCP connect took: the pool hears it once the server has greeted.
    var serverConnectLatency = TimeAmount.zero
    /// The client's TLS, when the service offers it (`+TLS`).
    let tls: SessionTLS?
    /// The control connection's TLS handler, once TLS has begun.
    var clientTLSHandler: NIOSSLServerHandler?
    /// `server_tls`: the server control connection's TLS handler and the sessions it was given
    /// (`+ServerTLS`), for that server connection.
    var serverTLSHandler: NIOSSLClientHandler?
    var serverSessions: ServerSessionStore?
    /// What the server control connection's handshake agreed on, once it has ended.
    var serverControlTLS: TLSNegotiation?

    init(
        id: Int,
        service: VirtualService,
        registry: SessionTable,
        clientChannel: Channel,
        dataPath: any DataPath,
        transferLog: TransferLog,
        serverConnector: any ServerConnector = TCPServerConnector(),
        logger: Logger
    ) {
        self.id = id
        self.service = service
        self.registry = registry
        self.clientChannel = clientChannel
        self.dataPath = dataPath
        self.transferLog = transferLog
        self.serverConnector = serverConnector
        let client = clientChannel.remoteAddress
        self.clientHost = client.flatMap(IPAddress.canonical) ?? ""
        self.advertisedAddress = Self.advertisedAddress(of: clientChannel, in: service)
        self.summary = SessionSummary()
        var logger = logger
        logger[metadataKey: "ftp.session"] = "\(id)"
        logger[metadataKey: "ftp.client"] = "\(client.logDescription)"
        logger[metadataKey: "ftp.service"] = "\(service.name)"
        self.logger = logger
        let configuration = service.configuration
        self.tls = service.tls.map(SessionTLS.init)
        self.machine = StateMachine(
            configuration: .init(
                greetingBeforeUser: configuration.balancerGreeting,
                controlIdle: configuration.timeouts.controlIdle.timeAmount,
                serverGreeting: configuration.timeouts.serverGreeting.timeAmount,
                login: configuration.timeouts.login.timeAmount,
                serverReply: configuration.timeouts.serverReply.timeAmount,
                security: service.tls?.initialSecurity ?? ControlChannelSecurity(offer: .none)
            ),
            now: .now()
        )
    }

    var timeouts: TimeoutConfiguration { self.service.configuration.timeouts }

    /// Wires the client channel and starts connecting to a server. Called from the child channel
    /// initializer, so the channel reads nothing before its handlers are in place.
    func start() throws {
        let handler = ControlConnectionHandler(
            session: self,
            side: .client,
            maximumLineLength: ControlLineDecoder.defaultMaximumLineLength
        )
        try self.clientChannel.pipeline.syncOperations.addHandlers(self.implicitTLSHandler() + [handler])
        self.clientHandler = handler
        self.perform(self.machine.start())
    }

    /// Commands are read only while the server can take them and nothing waits; replies only
    /// while the client keeps up and no listener is being opened.
    func acceptsInput(from side: ControlConnectionHandler.Side) -> Bool {
        switch side {
        case .client:
            self.machine.acceptsClientInput(
                clientWritable: self.clientChannel.isWritable,
                serverWritable: self.serverChannel?.isWritable ?? false
            )
        case .server:
            self.machine.acceptsServerInput(clientWritable: self.clientChannel.isWritable)
        }
    }

    func clientLine(_ line: ControlLine) {
        self.trace(.clientToBalancer, Self.traceText(line))
        self.perform(self.machine.clientLine(line, now: .now()), reading: .client)
    }

    /// Relayed lines are flushed when the read completes: one write for all lines of the read.
    func serverLine(_ line: ControlLine, from channel: Channel) {
        guard channel === self.serverChannel else { return }
        self.perform(self.machine.serverLine(line, now: .now()), reading: .server)
    }

    // MARK: Writing

    func sendClient(_ line: String) {
        self.trace(.balancerToClient, line)
        var buffer = self.clientChannel.allocator.buffer(capacity: line.utf8.count + 2)
        ControlLineWriter.write(line, into: &buffer)
        self.clientChannel.writeAndFlush(buffer, promise: nil)
    }

    func sendClient(_ line: ByteBuffer) {
        var buffer = self.clientChannel.allocator.buffer(capacity: line.readableBytes + 2)
        ControlLineWriter.write(line, into: &buffer)
        self.clientChannel.write(buffer, promise: nil)
    }

    func sendServer(_ command: FTPCommand) {
        guard let serverChannel = self.serverChannel else { return }
        var buffer = serverChannel.allocator.buffer(capacity: command.line.readableBytes + 2)
        command.write(into: &buffer)
        serverChannel.write(buffer, promise: nil)
    }

    /// What one side read is written to the other in one flush.
    func readComplete(from side: ControlConnectionHandler.Side) {
        switch side {
        case .client: self.serverChannel?.flush()
        case .server: self.clientChannel.flush()
        }
    }

    /// A side that can take bytes again lets the other side read.
    func writabilityChanged(on side: ControlConnectionHandler.Side) {
        switch side {
        case .client where self.clientChannel.isWritable:
            // Replies flow again: the server may answer, and the client send more commands.
            self.serverHandler?.resumeReading()
            self.clientHandler?.resumeReading()
        case .server where self.serverChannel?.isWritable ?? false: self.clientHandler?.resumeReading()
        default: break
        }
    }

    /// Lets both sides read again once whatever held them is done.
    func resumeReading() {
        self.clientHandler?.resumeReading()
        self.serverHandler?.resumeReading()
    }

    // MARK: Ending

    func controlConnectionError(_ error: Error, side: ControlConnectionHandler.Side) {
        if side == .client { self.clientTLSFailed(error) } else { self.serverTLSFailed(error) }
        self.logger.debug("control connection error", metadata: ["ftp.side": "\(side)", "ftp.error": "\(OperatorText.describe(error))"])
    }

    func clientClosed() {
        self.summary.ending = self.summary.ending ?? (self.summary.lastVerb == "QUIT" ? .quit : .clientClosed)
        self.perform(self.machine.controlConnectionClosed(.client))
    }

    func serverClosed(_ channel: Channel) {
        guard channel === self.serverChannel else { return }
        if self.machine.securingServer { self.serverSecuringFailed("the server closed the connection", reply: nil) }
        self.summary.ending = self.summary.ending ?? (self.summary.lastVerb == "QUIT" ? .quit : .serverClosed)
        self.perform(self.machine.controlConnectionClosed(.server))
    }

    /// Control channels read small buffers: a channel keeps its last read buffer for reuse, and
    /// NIO's default of 2 KiB per channel was a third of an idle session's memory. Commands and
    /// replies are lines of tens of bytes; the buffer still grows for a long multi-line reply.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 16384)

    /// The balancer is shutting down: end now if no transfer is in flight, else after it.
    func beginShutdown() {
        self.perform(self.machine.beginShutdown())
    }

    /// The shutdown grace period is over: end whatever is still running. Data connections still
    /// open close with the event loops, when the balancer exits.
    func forceShutdown() {
        let actions = self.machine.shutdownGraceOver()
        if !actions.isEmpty { self.logger.notice("shutdown grace period over; closing the session") }
        self.perform(actions)
    }

}

@available(*, unavailable)
extension ControlSession: Sendable {}
