import FTPBalancerConfig
import FTPProtocol
import NIOCore

/// The driver's half of the state machine: each action becomes a write, a connect, a listener,
/// a close, or a note in the session's logs and counters.
extension ControlSession {
    typealias Action = StateMachine.Action

    /// What an event brought that an action may keep or give back.
    enum Arrival {
        case nothing
        case listener(any DataListener)
        case server(Channel, ServerLease)
    }

    /// Performs `actions` in order, flushes what they wrote unflushed (but not what the
    /// read-complete of the side being read, `reading`, flushes anyway: the other side), and lets
    /// both sides read again if they may.
    func perform(_ actions: [Action], with arrival: Arrival = .nothing, reading side: ControlConnectionHandler.Side? = nil) {
        var wroteClient = false
        var wroteServer = false
        for action in actions {
            switch action {
            case .relayReply: wroteClient = true
            case .relayCommand, .sendServer, .resendToServer: wroteServer = true
            default: break
            }
            self.perform(action, with: arrival)
        }
        if wroteClient, side != .server { self.clientChannel.flush() }
        if wroteServer, side != .client { self.serverChannel?.flush() }
        self.clientHandler?.resumeReading()
        self.serverHandler?.resumeReading()
    }

    private func perform(_ action: Action, with arrival: Arrival) {
        switch action {
        case .connectToServer(let user):
            if let user { self.logger[metadataKey: "ftp.user"] = "\(user)" }
            self.connectToNextServer(user: user)
        case .abandonServer:
            guard case .server(let channel, let lease) = arrival else { return }
            self.service.pool.release(lease)
            channel.close(promise: nil)
        case .serverGreeted:
            self.timers.cancel(.greeting)
            if let lease = self.lease { self.service.pool.connected(lease, latency: self.serverConnectLatency) }
        case .dropServer(let reason):
            self.dropServer(reason)
        case .startServerTLS:
            self.startServerTLS()
        case .serverSecuringRefused(let command, let reply):
            self.serverSecuringFailed("the server refused \(command)", reply: reply)
        case .serverProtectionRefused(let command, let reply):
            self.logger.warning(
                "the server refused the client's protection level; its data connections keep the level it has",
                metadata: ["ftp.command": "\(command)", "ftp.server.reply": "\(reply)"]
            )
        case .loggedIn:
            self.timers.cancel(.login)
            self.registry.loggedIn(self.id)
        case .serverUnresponsive:
            self.noteServerUnresponsive()
        case .command(let command):
            self.summary.noteCommand(command)
            self.logger.trace("command", metadata: ["ftp.command": "\(command.loggableDescription)"])
        case .commandTooLong:
            self.logger.warning("command line too long; refused", metadata: ["ftp.limit": "\(ControlLineDecoder.defaultMaximumLineLength)"])
        case .refused(let command, let refusal):
            self.noteRefusal(of: command, refusal)
        case .relayCommand(let command, let rewritten, let repliesAhead):
            if rewritten { self.trace(.balancerToServer, command.loggableDescription) }
            self.noteRelayedCommand(command, repliesAhead: repliesAhead)
            self.sendServer(command)
        case .sendServer(let command):
            self.trace(.balancerToServer, command.loggableDescription)
            self.sendServer(command)
            // At once: after a client's AUTH the read's completion may end in its TLS handler.
            self.serverChannel?.flush()
        case .resendToServer(let command, let refusal):
            self.logger.debug("server refused EPSV; sending PASV", metadata: ["ftp.server.reply": "\(Self.traceText(refusal))"])
            self.trace(.balancerToServer, command.loggableDescription)
            self.sendServer(command)
        case .serverReply(let line, let answersCommand):
            self.trace(.serverToBalancer, Self.traceText(line))
            self.noteServerReply(line, answeredCommand: answersCommand)
        case .serverReplyTooLong:
            self.logger.warning("server reply line too long; relaying it cut short")
        case .relayReply(let line, let rewritten):
            if rewritten {
                self.countRewrittenReply()
                self.trace(.balancerToClient, Self.traceText(line))
            }
            self.sendClient(line)
        case .dropReply:
            self.countRewrittenReply()
        case .replaceReply(let reply, let error):
            self.countRewrittenReply()
            self.logger.warning("server reply unusable; answered the client instead", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
            self.sendClient(reply)
        case .reply(let reply):
            self.sendClient(reply)
        case .rewrittenReply(let reply):
            self.countRewrittenReply()
            self.sendClient(reply)
        case .startClientTLS:
            self.startClientTLS()
        case .resumeClientLines:
            self.clientHandler?.resumeLines()
        case .openPassive(let request):
            self.openPassive(request)
        case .openActive(let request):
            self.openActive(request)
        case .openTranslatedPassive(let request):
            self.openTranslatedPassive(request)
        case .openTranslatedActive(let request, let passive):
            self.openTranslatedActive(request, serverPassive: passive)
        case .useListener(let slot):
            guard case .listener(let listener) = arrival else { return }
            switch slot {
            case .passive: self.passiveListener = listener
            case .active: self.activeListener = listener
            }
        case .discardListener:
            guard case .listener(let listener) = arrival else { return }
            listener.close()
        case .closeListeners:
            self.closeListeners()
        case .end(let reply, let reason):
            self.end(reply: reply, reason: reason)
        case .closeServer:
            self.serverChannel?.close(promise: nil)
        case .closeClientAfterFlush:
            self.closeClientAfterFlush()
        case .scheduleTimer(let timer, let delay):
            self.schedule(timer, after: delay)
        case .finish:
            self.finish()
        }
    }

    private func noteRefusal(of command: FTPCommand, _ refusal: StateMachine.Rules.Refusal) {
        self.service.statistics.refused(refusal.rawValue)
        self.logger.notice(
            "command refused",
            metadata: ["ftp.command": "\(command.loggableDescription)", "ftp.refusal": "\(refusal.rawValue)"]
        )
    }

    private func countRewrittenReply() {
        self.service.statistics.record { $0.rewrittenReplies += 1 }
    }

    /// The balancer ends the session: its last reply first, then every connection.
    private func end(reply: String?, reason: SessionSummary.Ending) {
        if reason == .idleTimeout {
            let seconds = self.timeouts.controlIdle.timeAmount.nanoseconds / 1_000_000_000
            self.logger.notice("control connection idle; closing", metadata: ["ftp.idle.seconds": "\(seconds)"])
        } else if reason == .loginTimeout {
            let seconds = self.timeouts.login.timeAmount.nanoseconds / 1_000_000_000
            self.logger.notice("client did not log in in time; closing", metadata: ["ftp.login.seconds": "\(seconds)"])
        }
        self.summary.ending = self.summary.ending ?? reason
        if let reply { self.sendClient(reply) }
        self.closeClientAfterFlush()
        self.serverChannel?.close(promise: nil)
        self.closeListeners()
    }

    /// The server accepted the connection but closed it, or sent no greeting in time: for the
    /// pool it failed to connect, and the session tries the next.
    private func dropServer(_ reason: StateMachine.ServerLeaving) {
        guard let lease = self.lease, let channel = self.serverChannel else { return }
        let why: String
        switch reason {
        case .noGreeting: why = "no greeting within \(self.timeouts.serverGreeting.timeAmount.nanoseconds / 1_000_000_000)s"
        case .closedBeforeGreeting: why = "closed the connection before its greeting"
        }
        self.logger.warning("server sent no greeting; trying the next", metadata: ["ftp.error": "\(why)"])
        self.service.pool.connectFailed(lease, reason: why)
        // Forgotten first: its close is no longer the session's end.
        self.lease = nil
        self.serverChannel = nil
        self.serverHandler = nil
        channel.close(promise: nil)
    }

    /// The server owes a reply and said nothing for `server_reply`: for the pool it failed, as a
    /// connect that timed out would, and the session ends.
    private func noteServerUnresponsive() {
        let why = "no reply within \(self.timeouts.serverReply.shortText)"
        self.logger.warning(
            "server did not answer a command in time; closing the session",
            metadata: ["ftp.error": "\(why)", "ftp.command": "\(self.summary.lastVerb ?? "-")"]
        )
        guard let lease = self.lease else { return }
        // Given back here, once: the session's end must not release it again.
        self.lease = nil
        self.service.pool.connectFailed(lease, reason: why)
    }

    private func closeClientAfterFlush() {
        let channel = self.clientChannel
        channel.writeAndFlush(ByteBuffer()).assumeIsolated().whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func closeListeners() {
        self.passiveListener?.close()
        self.passiveListener = nil
        self.activeListener?.close()
        self.activeListener = nil
    }

    /// Both control connections and every data connection are done: the session line is logged
    /// once, and what the session held goes back.
    private func finish() {
        self.timers.cancelAll()
        self.noteSessionEnded()
        self.endTraces()
        if let lease = self.lease {
            self.lease = nil
            self.service.pool.release(lease)
        }
        self.registry.remove(self.id)
        self.logger.info("session ended", metadata: self.summary.metadata(now: .now()))
    }
}
