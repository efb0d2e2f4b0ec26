import FTPProtocol
import NIOCore

extension ControlSession {
    /// When each line of a control session is handled, and what the session does next: one
    /// `mutating func` per event, each returning the actions to perform in order. No I/O, no
    /// logger, no clock (`now` is an argument). The protocol rules (`ControlSessionStateMachine`)
    /// decide what a line means; this machine decides when it may be handled.
    struct StateMachine {
        enum State {
            /// `per_user` or `greeting`: the balancer has greeted the client and waits for USER (over TLS, if
            /// the client asks for it first).
            case awaitingUser(ControlChannelSecurity)
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
        /// Read by the queries (`+Queries`); changed only here.
        private(set) var state: State
        private(set) var openDataFlows = 0
        private(set) var lastActivity: NIODeadline

        init(configuration: Configuration, now: NIODeadline) {
            self.configuration = configuration
            let security = configuration.security
            self.state = configuration.greetingBeforeUser == nil ? .connecting(Connecting(security: security)) : .awaitingUser(security)
            self.lastActivity = now
        }

        mutating func serverConnected(rules: Rules) -> [Action] {
            guard case .connecting(let connecting) = self.state else { return [.abandonServer] }
            // Commands wait for the greeting, so that a server that never sends one can be left
            // for the next with nothing lost.
            self.state = .relaying(
                Relaying(rules: rules, clientLines: connecting.clientLines, user: connecting.user, security: connecting.security)
            )
            return [.scheduleTimer(.greeting, after: self.configuration.serverGreeting)]
        }

        /// The pool has no server left for the session: the client gets `reply`.
        mutating func noServerAvailable(reply: String) -> [Action] {
            guard case .connecting = self.state else { return [] }
            return self.end(reply: reply, reason: .noServer)
        }

        mutating func clientLine(_ line: ControlLine, now: NIODeadline) -> [Action] {
            self.lastActivity = now
            switch self.state {
            case .awaitingUser(let security):
                return self.lineBeforeUser(line, security: security)
            case .connecting(var connecting):
                self.state = .modifying
                connecting.clientLines.append(line)
                self.state = .connecting(connecting)
                return []
            case .relaying(let relaying):
                return self.step(relaying) { relaying, actions in relaying.clientLine(line, into: &actions) }
            case .shuttingDown(let relaying):
                return self.step(relaying, shuttingDown: true) { $0.clientLine(line, into: &$1) }
            case .waitingForDataListener:
                self.modifyRelaying { $0.clientLines.append(line) }
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
            case .waitingForDataListener:
                self.modifyRelaying { $0.serverLines.append(line) }
                return []
            case .awaitingUser, .connecting, .closing, .closed, .modifying:
                return []
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

        /// Nothing to do now: a transfer command that relies on the listener gets a 425.
        mutating func dataListenerExpired(port: Int) {
            self.modifyRelaying { $0.listenerExpired(port: port) }
        }

        /// Changes what a connected session holds, in whichever connected state it is, without
        /// going on: for events that only note something for later.
        mutating func modifyRelaying(_ body: (inout Relaying) -> Void) {
            switch self.state {
            case .relaying(var relaying):
                self.state = .modifying
                body(&relaying)
                self.state = .relaying(relaying)
            case .shuttingDown(var relaying):
                self.state = .modifying
                body(&relaying)
                self.state = .shuttingDown(relaying)
            case .waitingForDataListener(var relaying, let wait, let shutdownRequested):
                self.state = .modifying
                body(&relaying)
                self.state = .waitingForDataListener(relaying, wait, shutdownRequested: shutdownRequested)
            default:
                break
            }
        }

        /// Runs `body` on a connected session and lets what waited go on, as a line would; not
        /// while a listener opens (what waits goes on once it is ready).
        mutating func stepRelaying(_ body: (inout Relaying, inout [Action]) -> DataListenerWait?) -> [Action] {
            switch self.state {
            case .relaying(let relaying):
                return self.step(relaying, body)
            case .shuttingDown(let relaying):
                var actions = self.step(relaying, shuttingDown: true, body)
                self.settle(into: &actions)
                return actions
            default:
                return []
            }
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

        /// One control connection is gone: the other is closed, after what it still has to say
        /// (a server's 221 or 421 still reaches the client).
        mutating func controlConnectionClosed(_ side: ControlConnectionHandler.Side) -> [Action] {
            let client = side == .client
            var actions: [Action] = []
            switch self.state {
            case .awaitingUser, .connecting:
                self.state = .closing(Closing(clientOpen: !client, serverOpen: false))
                if !client { actions.append(.closeClientAfterFlush) }
            case .relaying(let relaying) where !client && !relaying.greeted:
                return self.leaveServerBeforeGreeting(.closedBeforeGreeting)
            case .relaying(let relaying), .waitingForDataListener(let relaying, _, _), .shuttingDown(let relaying):
                self.state = .closing(Closing(clientOpen: !client, serverOpen: client))
                // A server gone with replies still owed: the client hears so, and no 226.
                if !client, relaying.rules.outstandingReplies > 0 { actions.append(.reply(BalancerReply.serverClosed)) }
                actions += [client ? .closeServer : .closeClientAfterFlush, .closeListeners]
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

        /// The server will not do (closed or silent before its greeting): back to connecting,
        /// with the lines it never took, for the next server.
        mutating func leaveServerBeforeGreeting(_ reason: ServerLeaving) -> [Action] {
            guard case .relaying(let relaying) = self.state, !relaying.greeted else { return [] }
            self.state = .connecting(Connecting(clientLines: relaying.clientLines, user: relaying.user, security: relaying.security))
            return [.dropServer(reason), .connectToServer(user: relaying.user)]
        }

        /// The balancer ends the session: `reply` goes out first.
        mutating func end(reply: String?, reason: SessionSummary.Ending) -> [Action] {
            switch self.state {
            case .relaying, .waitingForDataListener, .shuttingDown:
                self.state = .closing(Closing(clientOpen: true, serverOpen: true))
            default:
                self.state = .closing(Closing(clientOpen: true, serverOpen: false))
            }
            return [.end(reply: reply, reason: reason)]
        }

        // MARK: per_user, before USER

        private mutating func lineBeforeUser(_ line: ControlLine, security: ControlChannelSecurity) -> [Action] {
            var security = security
            let answer = PreLogin.answer(line, security: &security)
            self.state = .awaitingUser(security)
            switch answer {
            case .reply(let actions):
                return actions
            case .placeByUser(let name, let command):
                var connecting = Connecting(user: name, security: security)
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
