import FTPProtocol

extension ControlSession.StateMachine {
    /// The state without its data, for what the session reads of it.
    var stage: Stage {
        switch self.state {
        case .awaitingUser: .awaitingUser
        case .connecting: .connecting
        case .relaying: .relaying
        case .waitingForDataListener(_, _, let shutdownRequested): .waitingForDataListener(shutdownRequested: shutdownRequested)
        case .shuttingDown: .shuttingDown
        case .closing, .modifying: .closing
        case .closed: .closed
        }
    }

    /// The line queues and listeners, read-only, while a server is connected.
    var relaying: Relaying? {
        switch self.state {
        case .relaying(let relaying), .waitingForDataListener(let relaying, _, _), .shuttingDown(let relaying): relaying
        default: nil
        }
    }

    /// The client's TLS and protection level, until the session is closing.
    var security: ControlChannelSecurity? {
        switch self.state {
        case .awaitingUser(let security): security
        case .connecting(let connecting): connecting.security
        default: self.relaying?.security
        }
    }

    /// The server refused or timed out: the next one is tried.
    func serverConnectFailed() -> [Action] {
        guard case .connecting(let connecting) = self.state else { return [] }
        return [.connectToServer(user: connecting.user)]
    }

    /// `State` without its data.
    enum Stage: Equatable {
        case awaitingUser, connecting, relaying, shuttingDown, closing, closed
        case waitingForDataListener(shutdownRequested: Bool)
    }

    /// Whether the client's connection may be read now: nothing before its next line waits, the
    /// server can take what it sends, and the client reads its replies (a client that sends
    /// commands the balancer answers itself and reads nothing must not grow the balancer).
    func acceptsClientInput(clientWritable: Bool, serverWritable: Bool) -> Bool {
        switch self.stage {
        case .awaitingUser: clientWritable
        case .relaying, .shuttingDown: (self.relaying?.takesClientLineNow ?? false) && serverWritable && clientWritable
        case .connecting, .waitingForDataListener, .closing, .closed: false
        }
    }

    /// Whether the server's connection may be read now; the client must keep up.
    func acceptsServerInput(clientWritable: Bool) -> Bool {
        switch self.stage {
        case .relaying, .shuttingDown: (self.relaying?.serverLines.isEmpty ?? false) && clientWritable
        // Read on while closing, so that the server's close is seen.
        case .closing: true
        case .awaitingUser, .connecting, .waitingForDataListener, .closed: false
        }
    }

    /// What the admin API shows of the session.
    var phase: SessionSnapshot.State {
        switch self.stage {
        case .awaitingUser: .awaitingUser
        case .connecting: .connecting
        case .relaying:
            self.openDataFlows > 0 ? .transferring : (self.relaying?.listenerOpen ?? false) ? .dataPending : .idle
        case .waitingForDataListener(let shutdownRequested):
            shutdownRequested ? .shuttingDown : self.openDataFlows > 0 ? .transferring : .dataPending
        case .shuttingDown: .shuttingDown
        case .closing, .closed: .closing
        }
    }
}
