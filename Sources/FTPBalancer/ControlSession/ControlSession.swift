import FTPBalancerConfig
import FTPProtocol
import Logging
import NIOCore
import NIOPosix

/// One client control connection and its upstream connection to one server: performs what
/// `ControlSessionStateMachine` decides. Confined to the client channel's event loop; the server
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
    var machine: ControlSessionStateMachine?
    /// The server this session holds in its pool, once connected.
    var lease: ServerLease?
    /// Servers this session failed to reach; the pool offers each at most once.
    var triedServers: Set<Int> = []

    /// `per_user`: the balancer has greeted the client and waits for USER.
    var awaitingUser = false
    /// The user name the pool places the session by (`per_user`).
    var userForSelection: String?
    /// `per_user`: frames the server's greeting, which the client must not see a second time.
    var swallowedGreeting: ReplyFramer?
    /// The balancer is shutting down: the session ends once no transfer is in flight.
    var shuttingDown = false

    /// Lines that arrived while an earlier step was still running; handled in order afterwards.
    var queuedClientLines = CircularBuffer<ControlLine>()
    var queuedServerLines = CircularBuffer<ControlLine>()
    /// A data listener is being opened; replies and commands wait so that order is kept.
    var awaitingDataPath = false
    /// A reply the balancer gives itself, held until the server has answered every command
    /// relayed before it.
    var heldAnswer: String?

    var passiveListener: (any DataListener)?
    var activeListener: (any DataListener)?
    /// The data connections moving bytes now: what keeps a session open, and what the admin
    /// API's snapshots show.
    var liveDataFlows: [DataFlow] = []
    var openDataFlows: Int { self.liveDataFlows.count }
    /// Transfer commands waiting for their reply and data connection, for the transfer log.
    var transfers = TransferTracker()
    /// Whoever follows this session with `ftplb trace`; empty nearly always.
    var tracers: [TraceSubscriber] = []
    /// Set once the session has ended: a trace that arrives later only hears that.
    var tracingEnded = false

    var lastActivity: NIODeadline
    private var idleCheck: Scheduled<Void>?
    var clientOpen = true
    var serverOpen = false
    private var reported = false

    init(
        id: Int,
        service: VirtualService,
        registry: SessionTable,
        clientChannel: Channel,
        dataPath: any DataPath,
        transferLog: TransferLog,
        logger: Logger
    ) {
        self.id = id
        self.service = service
        self.registry = registry
        self.clientChannel = clientChannel
        self.dataPath = dataPath
        self.transferLog = transferLog
        let client = clientChannel.remoteAddress
        self.clientHost = client.flatMap(ControlSessionStateMachine.canonical) ?? ""
        self.advertisedAddress = Self.advertisedAddress(of: clientChannel, in: service)
        self.summary = SessionSummary()
        var logger = logger
        logger[metadataKey: "ftp.session"] = "\(id)"
        logger[metadataKey: "ftp.client"] = "\(client.logDescription)"
        logger[metadataKey: "ftp.service"] = "\(service.name)"
        self.logger = logger
        self.lastActivity = .now()
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
        try self.clientChannel.pipeline.syncOperations.addHandler(handler)
        self.clientHandler = handler
        self.scheduleIdleCheck(after: self.timeouts.controlIdle.timeAmount)
        if self.service.configuration.algorithm == .perUser {
            self.greetBeforeUser()
        } else {
            self.connectToNextServer()
        }
    }

    /// Commands are read only while the server is connected, can take them, and nothing waits;
    /// replies only while the client keeps up and no listener is being opened.
    func acceptsInput(from side: ControlConnectionHandler.Side) -> Bool {
        switch side {
        case .client where self.awaitingUser:
            return self.clientChannel.isWritable
        case .client:
            return self.serverOpen && !self.awaitingDataPath && self.heldAnswer == nil
                && !(self.machine?.holdsCommands ?? false)
                && self.queuedClientLines.isEmpty && (self.serverChannel?.isWritable ?? false)
        case .server:
            return !self.awaitingDataPath && self.queuedServerLines.isEmpty && self.clientChannel.isWritable
        }
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
        case .client where self.clientChannel.isWritable: self.serverHandler?.resumeReading()
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
        self.logger.debug("control connection error", metadata: ["ftp.side": "\(side)", "ftp.error": "\(OperatorText.describe(error))"])
    }

    /// Sends a last reply, then closes the whole session.
    func end(reply: String?, reason: SessionSummary.Ending) {
        self.summary.ending = self.summary.ending ?? reason
        if let reply, self.clientOpen { self.sendClient(reply) }
        self.closeClientAfterFlush()
        self.serverChannel?.close(promise: nil)
    }

    func closeClientAfterFlush() {
        guard self.clientOpen else { return }
        let channel = self.clientChannel
        channel.writeAndFlush(ByteBuffer()).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func clientClosed() {
        guard self.clientOpen else { return }
        self.clientOpen = false
        self.summary.ending = self.summary.ending ?? (self.summary.lastVerb == "QUIT" ? .quit : .clientClosed)
        self.serverChannel?.close(promise: nil)
        self.closeListeners()
        self.reportIfFinished()
    }

    func serverClosed(_ channel: Channel) {
        guard channel === self.serverChannel, self.serverOpen else { return }
        self.serverOpen = false
        self.summary.ending = self.summary.ending ?? (self.summary.lastVerb == "QUIT" ? .quit : .serverClosed)
        // What the server said last (a 221 or 421) still reaches the client.
        self.closeClientAfterFlush()
        self.closeListeners()
        self.reportIfFinished()
    }

    func closeListeners() {
        self.passiveListener?.close()
        self.passiveListener = nil
        self.activeListener?.close()
        self.activeListener = nil
    }

    /// Logs the session line once both control connections and every data connection are done.
    func reportIfFinished() {
        guard !self.reported, !self.clientOpen, !self.serverOpen, self.openDataFlows == 0 else { return }
        self.reported = true
        self.idleCheck?.cancel()
        self.noteSessionEnded()
        self.endTraces()
        if let lease = self.lease {
            self.lease = nil
            self.service.pool.release(lease)
        }
        self.registry.remove(self.id)
        self.logger.info("session ended", metadata: self.summary.metadata(now: .now()))
    }

    // MARK: Shutting down

    /// Control channels read small buffers: a channel keeps its last read buffer for reuse, and
    /// NIO's default of 2 KiB per channel was a third of an idle session's memory. Commands and
    /// replies are lines of tens of bytes; the buffer still grows for a long multi-line reply.
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 16384)

    static let shutdownReply = BalancerReply.shuttingDown

    /// The balancer is shutting down: end now if no transfer is in flight, else after it.
    func beginShutdown() {
        self.shuttingDown = true
        self.endIfShutdownAndQuiet()
    }

    /// Ends a shutting-down session once nothing is in flight: no data connection, no listener
    /// being opened, no command waiting for its reply.
    func endIfShutdownAndQuiet() {
        guard self.shuttingDown, self.clientOpen, self.openDataFlows == 0, !self.awaitingDataPath,
            (self.machine?.outstandingReplies ?? 0) == 0
        else { return }
        self.end(reply: Self.shutdownReply, reason: .shutdown)
    }

    /// The shutdown grace period is over: end whatever is still running.
    func forceShutdown() {
        self.logger.notice("shutdown grace period over; closing the session")
        self.end(reply: Self.shutdownReply, reason: .shutdown)
        // Data connections still open close with the event loops, when the balancer exits.
        self.closeListeners()
    }

    // MARK: Idle control connection

    private func scheduleIdleCheck(after delay: TimeAmount) {
        self.idleCheck = self.clientChannel.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.checkIdle()
        }
    }

    private func checkIdle() {
        guard self.clientOpen else { return }
        let limit = self.timeouts.controlIdle.timeAmount
        let idleFor = NIODeadline.now() - self.lastActivity
        // A control connection is quiet while its transfer moves; the data connection has an
        // idle timeout of its own.
        if self.openDataFlows > 0 || self.awaitingDataPath || idleFor < limit {
            self.scheduleIdleCheck(after: self.openDataFlows > 0 ? limit : limit - idleFor)
            return
        }
        self.logger.notice("control connection idle; closing", metadata: ["ftp.idle.seconds": "\(limit.nanoseconds / 1_000_000_000)"])
        self.end(reply: BalancerReply.idleTimeout, reason: .idleTimeout)
    }
}

@available(*, unavailable)
extension ControlSession: Sendable {}
