import FTPProtocol
import NIOCore

extension ControlSession {
    /// When each line of a control session is handled, and what the session does next: one
    /// `mutating func` per event, each returning the actions to perform in order. No I/O, no
    /// logger, no clock (`now` is an argument). The protocol rules (`ControlSessionStateMachine`)
    /// decide what a line means; this machine decides when it may be handled.
    struct StateMachine {
        private enum State {
            /// `per_user`: the balancer has greeted the client and waits for USER.
            case awaitingUser
            /// Lines wait until a server has been reached.
            case connecting(Connecting)
            case relaying(Relaying)
            /// A data listener is being opened: lines wait so that order is kept.
            case waitingForDataListener(Relaying, DataListenerWait, shutdownRequested: Bool)
            /// The balancer is shutting down: the session ends once nothing is in flight.
            case shuttingDown(Relaying)
            /// The session is ending: waits until both control connections and every data
            /// connection are done.
            case closing(Closing)
            case closed
            /// Only while an event changes the state: its data is not copied.
            case modifying
        }

        let configuration: Configuration
        private var state: State
        private(set) var openDataFlows = 0
        private var lastActivity: NIODeadline

        init(configuration: Configuration, now: NIODeadline) {
            self.configuration = configuration
            self.state = configuration.greetingBeforeUser == nil ? .connecting(Connecting()) : .awaitingUser
            self.lastActivity = now
        }

        mutating func serverConnected(rules: Rules) -> [Action] {
            guard case .connecting(let connecting) = self.state else { return [.abandonServer] }
            let relaying = Relaying(
                rules: rules,
                clientLines: connecting.clientLines,
                swallowsGreeting: connecting.user != nil
            )
            return self.step(relaying) { relaying, actions in relaying.proceed(into: &actions) }
        }

        /// The server refused or timed out: the next one is tried.
        func serverConnectFailed() -> [Action] {
            guard case .connecting(let connecting) = self.state else { return [] }
            return [.connectToServer(user: connecting.user)]
        }

        /// The pool has no server left for the session: the client gets `reply`.
        mutating func noServerAvailable(reply: String) -> [Action] {
            guard case .connecting = self.state else { return [] }
            return self.end(reply: reply, reason: .noServer)
        }

        // MARK: Lines

        mutating func clientLine(_ line: ControlLine, now: NIODeadline) -> [Action] {
            self.lastActivity = now
            switch self.state {
            case .awaitingUser:
                return self.lineBeforeUser(line)
            case .connecting(var connecting):
                self.state = .modifying
                connecting.clientLines.append(line)
                self.state = .connecting(connecting)
                return []
            case .relaying(let relaying):
                return self.step(relaying) { relaying, actions in relaying.clientLine(line, into: &actions) }
            case .shuttingDown(let relaying):
                return self.step(relaying, shuttingDown: true) { $0.clientLine(line, into: &$1) }
            case .waitingForDataListener(var relaying, let wait, let shutdownRequested):
                self.state = .modifying
                relaying.clientLines.append(line)
                self.state = .waitingForDataListener(relaying, wait, shutdownRequested: shutdownRequested)
                return []
            case .closing, .closed, .modifying:
                return []
            }
        }

        mutating func serverLine(_ line: ControlLine, now: NIODeadline) -> [Action] {
            self.lastActivity = now
            switch self.state {
            case .relaying(let relaying):
                return self.step(relaying) { relaying, actions in relaying.serverLine(line, into: &actions) }
            case .shuttingDown(let relaying):
                var actions = self.step(relaying, shuttingDown: true) { $0.serverLine(line, into: &$1) }
                self.settle(into: &actions)
                return actions
            case .waitingForDataListener(var relaying, let wait, let shutdownRequested):
                self.state = .modifying
                relaying.serverLines.append(line)
                self.state = .waitingForDataListener(relaying, wait, shutdownRequested: shutdownRequested)
                return []
            case .awaitingUser, .connecting, .closing, .closed, .modifying:
                return []
            }
        }

        /// Whether the client's connection may be read now; the server must be able to take
        /// what it sends.
        func acceptsClientInput(clientWritable: Bool, serverWritable: Bool) -> Bool {
            switch self.state {
            case .awaitingUser: clientWritable
            case .relaying(let relaying), .shuttingDown(let relaying): relaying.takesClientLineNow && serverWritable
            case .connecting, .waitingForDataListener, .closing, .closed, .modifying: false
            }
        }

        /// Whether the server's connection may be read now; the client must keep up.
        func acceptsServerInput(clientWritable: Bool) -> Bool {
            switch self.state {
            case .relaying(let relaying), .shuttingDown(let relaying): relaying.serverLines.isEmpty && clientWritable
            // Read on while closing, so that the server's close is seen.
            case .closing: true
            case .awaitingUser, .connecting, .waitingForDataListener, .closed, .modifying: false
            }
        }

        // MARK: Data listeners and data connections

        mutating func dataListenerReady(_ ready: ReadyListener) -> [Action] {
            guard case .waitingForDataListener(let relaying, let wait, let shutdownRequested) = self.state else {
                return [.discardListener]
            }
            return self.step(relaying, shuttingDown: shutdownRequested) { $0.listenerReady(ready, for: wait, into: &$1) }
        }

        mutating func dataListenerFailed(_ failure: DataListenerFailure) -> [Action] {
            guard case .waitingForDataListener(let relaying, let wait, let shutdownRequested) = self.state else {
                return []
            }
            return self.step(relaying, shuttingDown: shutdownRequested) { $0.listenerFailed(failure, for: wait, into: &$1) }
        }

        mutating func dataFlowStarted(now: NIODeadline) {
            self.openDataFlows += 1
            self.lastActivity = now
        }

        mutating func dataFlowEnded(now: NIODeadline) -> [Action] {
            self.openDataFlows -= 1
            self.lastActivity = now
            var actions: [Action] = []
            self.settle(into: &actions)
            return actions
        }

        // MARK: Ending

        /// One control connection is gone: the other is closed, after what it still has to say
        /// (a server's 221 or 421 still reaches the client).
        mutating func controlConnectionClosed(_ side: ControlConnectionHandler.Side) -> [Action] {
            let client = side == .client
            var actions: [Action] = []
            switch self.state {
            case .awaitingUser, .connecting:
                self.state = .closing(Closing(clientOpen: !client, serverOpen: false))
                if !client { actions.append(.closeClientAfterFlush) }
            case .relaying, .waitingForDataListener, .shuttingDown:
                self.state = .closing(Closing(clientOpen: !client, serverOpen: client))
                actions = [client ? .closeServer : .closeClientAfterFlush, .closeListeners]
            case .closing(var closing):
                if client { closing.clientOpen = false } else { closing.serverOpen = false }
                self.state = .closing(closing)
            case .closed, .modifying:
                return []
            }
            self.settle(into: &actions)
            return actions
        }

        /// The balancer is shutting down: the session ends now if nothing is in flight, else
        /// once its transfer is done.
        mutating func beginShutdown() -> [Action] {
            switch self.state {
            case .awaitingUser, .connecting:
                return self.end(reply: BalancerReply.shuttingDown, reason: .shutdown)
            case .relaying(let relaying):
                self.state = .shuttingDown(relaying)
                var actions: [Action] = []
                self.settle(into: &actions)
                return actions
            case .waitingForDataListener(let relaying, let wait, _):
                self.state = .waitingForDataListener(relaying, wait, shutdownRequested: true)
                return []
            case .shuttingDown, .closing, .closed, .modifying:
                return []
            }
        }

        /// The shutdown grace period is over: whatever still runs ends.
        mutating func shutdownGraceOver() -> [Action] {
            switch self.state {
            case .closing, .closed, .modifying: []
            default: self.end(reply: BalancerReply.shuttingDown, reason: .shutdown)
            }
        }

        /// The idle check is due: a control connection is quiet while its transfer moves (the
        /// data connection has an idle timeout of its own), else `control_idle` ends it.
        mutating func idleCheckDue(now: NIODeadline) -> [Action] {
            let limit = self.configuration.controlIdle
            switch self.state {
            case .closing, .closed, .modifying:
                return []
            case .waitingForDataListener:
                return [.scheduleIdleCheck(after: limit)]
            default:
                let idleFor = now - self.lastActivity
                if self.openDataFlows > 0 { return [.scheduleIdleCheck(after: limit)] }
                if idleFor < limit { return [.scheduleIdleCheck(after: limit - idleFor)] }
                return self.end(reply: BalancerReply.idleTimeout, reason: .idleTimeout)
            }
        }

        /// The balancer ends the session: `reply` goes out first.
        private mutating func end(reply: String?, reason: SessionSummary.Ending) -> [Action] {
            switch self.state {
            case .relaying, .waitingForDataListener, .shuttingDown:
                self.state = .closing(Closing(clientOpen: true, serverOpen: true))
            default:
                self.state = .closing(Closing(clientOpen: true, serverOpen: false))
            }
            return [.end(reply: reply, reason: reason)]
        }

        /// What the admin API shows of the session.
        var phase: SessionSnapshot.State {
            switch self.state {
            case .awaitingUser: .awaitingUser
            case .connecting: .connecting
            case .relaying(let relaying):
                self.openDataFlows > 0 ? .transferring : relaying.listenerOpen ? .dataPending : .idle
            case .waitingForDataListener(_, _, let shutdownRequested):
                shutdownRequested ? .shuttingDown : self.openDataFlows > 0 ? .transferring : .dataPending
            case .shuttingDown: .shuttingDown
            case .closing, .closed, .modifying: .closing
            }
        }

        // MARK: per_user, before USER

        private mutating func lineBeforeUser(_ line: ControlLine) -> [Action] {
            switch PreLogin.answer(line) {
            case .reply(let actions):
                return actions
            case .placeByUser(let name, let command):
                var connecting = Connecting(user: name)
                // USER goes to the server once connected; its greeting is swallowed first.
                connecting.clientLines.append(line)
                self.state = .connecting(connecting)
                return [.command(command), .connectToServer(user: name)]
            case .quit(let command):
                return [.command(command), .reply(BalancerReply.goodbye)] + self.end(reply: nil, reason: .quit)
            }
        }

        /// Runs one step of a relaying session; then it waits for the listener the step asked for,
        /// if any.
        private mutating func step(
            _ relaying: consuming Relaying,
            shuttingDown: Bool = false,
            _ body: (inout Relaying, inout [Action]) -> DataListenerWait?
        ) -> [Action] {
            var relaying = relaying
            // The state lets go of its copy first, so the queues change in place.
            self.state = .modifying
            var actions: [Action] = []
            if let wait = body(&relaying, &actions) {
                self.state = .waitingForDataListener(relaying, wait, shutdownRequested: shuttingDown)
            } else {
                self.state = shuttingDown ? .shuttingDown(relaying) : .relaying(relaying)
            }
            return actions
        }

        /// After a server reply, a data connection's end or a close: a shutting-down session with
        /// nothing in flight ends; a closing one with nothing left open is finished. (Not after a
        /// listener opens: its client is about to use it.)
        private mutating func settle(into actions: inout [Action]) {
            switch self.state {
            case .shuttingDown(let relaying) where relaying.isQuiet && self.openDataFlows == 0:
                actions += self.end(reply: BalancerReply.shuttingDown, reason: .shutdown)
            case .closing(let closing) where !closing.clientOpen && !closing.serverOpen && self.openDataFlows == 0:
                self.state = .closed
                actions.append(.finish)
            default:
                break
            }
        }
    }
}
