import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// The reply check is due: a server that owes a reply to a command and has let
    /// `server_reply` pass with nothing happening on the session (no line either way, no data
    /// connection) is taken for hung. A transfer command's reply is exempt: it follows its data
    /// connection, which `passive_accept`, `active_connect` and `data_idle` bound.
    mutating func replyCheckDue(now: NIODeadline) -> [Action] {
        let limit = self.configuration.serverReply
        switch self.stage {
        case .closing, .closed:
            return []
        case .relaying, .shuttingDown:
            // The balancer's own AUTH TLS, PBSZ and PROT (`server_tls`) are owed replies too, and
            // so is a TLS handshake after the server's 234.
            let securing = self.relaying?.serverSecuring?.awaitsServer ?? false
            guard let relaying = self.relaying, relaying.greeted, relaying.rules.outstandingReplies > 0 || securing,
                !relaying.rules.awaitsTransferReply, self.openDataFlows == 0
            else { return [.scheduleTimer(.reply, after: limit)] }
            let quietFor = now - self.lastActivity
            if quietFor < limit { return [.scheduleTimer(.reply, after: limit - quietFor)] }
            return [.serverUnresponsive] + self.end(reply: BalancerReply.serverReplyTimeout, reason: .serverTimeout)
        case .awaitingUser, .connecting, .waitingForDataListener:
            // Before the greeting `server_greeting` applies; a listener being opened is the
            // balancer's own wait.
            return [.scheduleTimer(.reply, after: limit)]
        }
    }
}
