import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// A timer of the session is due; what it means depends on the state.
    mutating func timerFired(_ timer: Timer, now: NIODeadline) -> [Action] {
        switch (timer, self.stage) {
        case (.idle, _):
            return self.idleCheckDue(now: now)
        case (.reply, _):
            return self.replyCheckDue(now: now)
        case (.greeting, .relaying) where !(self.relaying?.greeted ?? true):
            return self.leaveServerBeforeGreeting(.noGreeting)
        case (.greeting, .shuttingDown) where !(self.relaying?.greeted ?? true):
            return self.end(reply: BalancerReply.shuttingDown, reason: .shutdown)
        case (.login, .awaitingUser), (.login, .connecting):
            return self.end(reply: BalancerReply.loginTimeout, reason: .loginTimeout)
        case (.login, .relaying), (.login, .waitingForDataListener), (.login, .shuttingDown):
            if self.relaying?.loggedIn ?? true { return [] }
            return self.end(reply: BalancerReply.loginTimeout, reason: .loginTimeout)
        default:
            return []
        }
    }

    /// The idle check is due: a control connection is quiet while its transfer moves (the
    /// data connection has an idle timeout of its own), else `control_idle` ends it.
    private mutating func idleCheckDue(now: NIODeadline) -> [Action] {
        let limit = self.configuration.controlIdle
        switch self.stage {
        case .closing, .closed:
            return []
        case .waitingForDataListener:
            return [.scheduleTimer(.idle, after: limit)]
        default:
            let idleFor = now - self.lastActivity
            if self.openDataFlows > 0 { return [.scheduleTimer(.idle, after: limit)] }
            if idleFor < limit { return [.scheduleTimer(.idle, after: limit - idleFor)] }
            return self.end(reply: BalancerReply.idleTimeout, reason: .idleTimeout)
        }
    }
}
