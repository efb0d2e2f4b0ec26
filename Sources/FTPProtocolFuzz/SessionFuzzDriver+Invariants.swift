#if DEBUG || FUZZING
import FTPProtocol
import NIOCore

@testable import FTPBalancer

extension SessionFuzzDriver {
    /// What must hold between any two events: the machine's state fits the model, and nothing
    /// can stall (every wait has something that will end it: a connect, a listener, a reply the
    /// server owes, a close under way or a timer).
    func checkState() throws {
        let stage = self.machine.stage
        try self.check(self.machine.openDataFlows == self.flows, "\(self.machine.openDataFlows) data connections counted, \(self.flows) open")
        try self.check((stage == .closed) == self.finished, "closed and finished disagree")
        switch stage {
        case .awaitingUser, .closed:
            break
        case .connecting:
            try self.check(self.connectInFlight, "connecting with no connect in flight")
        case .waitingForDataListener:
            try self.check(self.listenerInFlight != nil, "waiting for a listener nobody opens")
            try self.check(self.serverHeld, "waiting for a listener with no server")
        case .relaying, .shuttingDown:
            try self.check(self.serverHeld, "relaying with no server")
            try self.checkQueues()
        case .closing:
            try self.check(!self.clientOpen || self.clientClosing, "closing, but the client is left open")
            try self.check(!self.serverHeld || self.serverClosing, "closing, but the server is left open")
            try self.check(self.clientOpen || self.serverHeld || self.flows > 0, "nothing open, yet not finished")
        }
        try self.checkTimers(stage)
        try self.checkShutdown(stage)
    }

    /// A line or answer that waits does so for a reply the server owes, never for nothing.
    private func checkQueues() throws {
        guard let relaying = self.machine.relaying else {
            return try self.check(false, "a relaying stage without its queues")
        }
        // Server lines wait only for a listener, or for a protected data connection's verdict.
        let verdictDue = relaying.protectedDataPending > 0 && relaying.rules.awaitsTransferReply
        try self.check(relaying.serverLines.isEmpty || verdictDue, "\(relaying.serverLines.count) server lines wait for nothing")
        let owed = relaying.rules.outstandingReplies
        try self.check(relaying.heldAnswer == nil || owed > 0, "an answer is held though no reply is owed")
        // server_tls: the balancer's own command out, or one due once nothing is owed.
        let securing = relaying.serverSecuring
        if let securing, securing.holdsCommands, !securing.readsServerLines, relaying.greeted {
            try self.check(owed > 0 || relaying.heldAnswer != nil, "a securing command is due and nothing is owed before it")
        }
        if !relaying.clientLines.isEmpty {
            let mayGo = relaying.greeted && relaying.heldAnswer == nil && !relaying.rules.holdsCommands
                && securing?.holdsCommands != true
            try self.check(!mayGo, "\(relaying.clientLines.count) client lines wait though commands may go")
            // A reply owed to a relayed command, or to the balancer's own (server_tls), or,
            // securing refused, the end that follows.
            try self.check(owed > 0 || securing?.readsServerLines == true, "\(relaying.clientLines.count) client lines wait though no reply is owed")
        }
    }

    /// A live session always has its idle check, its login deadline until the 230, and its
    /// greeting deadline until the server's greeting.
    private func checkTimers(_ stage: Machine.Stage) throws {
        switch stage {
        case .closing, .closed:
            return
        default:
            try self.check(self.timers[.idle] != nil, "a live session without its idle check")
            try self.check(self.loggedIn || self.timers[.login] != nil, "not logged in, and no login deadline")
        }
        // The greeting itself, not `.serverGreeted`, which under server_tls comes after securing.
        if stage == .relaying || stage == .shuttingDown, !self.serverGreeted, !(self.machine.relaying?.greeted ?? false) {
            try self.check(self.timers[.greeting] != nil, "no greeting yet, and no greeting deadline")
        }
    }

    /// Once the balancer shuts down, the session only winds down; after the grace period it ends.
    private func checkShutdown(_ stage: Machine.Stage) throws {
        if self.shutdownBegun {
            let windsDown: Bool
            switch stage {
            case .shuttingDown, .closing, .closed, .waitingForDataListener(shutdownRequested: true): windsDown = true
            default: windsDown = false
            }
            try self.check(windsDown, "the shutdown was lost")
        }
        if self.graceOver {
            try self.check(stage == .closing || stage == .closed, "the grace period is over and the session runs on")
        }
    }
}
#endif
