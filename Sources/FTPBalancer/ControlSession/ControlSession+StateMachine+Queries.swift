extension ControlSession.StateMachine {
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
