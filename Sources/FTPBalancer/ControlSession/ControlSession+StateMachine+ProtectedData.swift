import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    /// How the TLS handshake of a protected (`PROT P`) data connection ended.
    enum ProtectedDataVerdict: Equatable {
        /// Resumed one of the session's TLS sessions, or `session_reuse` let it go on.
        case accepted
        /// Did not resume under `session_reuse: required`: both sides were reset.
        case refused
        /// Failed or closed before the handshake ended.
        case failed
    }

    /// A protected data connection to the client is connected, its handshake still to come. The
    /// reply that ends the transfer waits for its verdict: a client must never read a 226 for a
    /// data connection the balancer then refuses.
    mutating func protectedDataConnecting() {
        self.modifyRelaying { $0.protectedDataPending += 1 }
    }

    mutating func protectedDataSettled(_ verdict: ProtectedDataVerdict) -> [Action] {
        self.modifyRelaying { $0.protectedDataSettled(verdict) }
        return self.stepRelaying { relaying, actions in relaying.proceed(into: &actions) }
    }
}

extension ControlSession.StateMachine.Relaying {
    /// Notes the verdict; the machine then lets what waited go on, unless a listener opens.
    mutating func protectedDataSettled(_ verdict: ControlSession.StateMachine.ProtectedDataVerdict) {
        self.protectedDataPending = max(0, self.protectedDataPending - 1)
        if verdict == .refused { self.transferReplyReplacement = BalancerReply.dataSessionNotResumed }
    }

    /// While a protected data connection's verdict is pending, the server's reply to the
    /// transfer waits (its 150 goes on: clients start the handshake only after it).
    func holdsServerLine(_ line: ControlLine) -> Bool {
        guard self.protectedDataPending > 0, self.rules.awaitsTransferReply else { return false }
        return !Self.isPreliminary(line)
    }

    static func isPreliminary(_ line: ControlLine) -> Bool {
        guard case .line(let bytes) = line else { return false }
        return bytes.readableBytesView.first == UInt8(ascii: "1")
    }

    /// The transfer's data connection was refused: its reply becomes the balancer's 425, whatever
    /// the server said. Returns true when the line was taken care of.
    mutating func replacesTransferReply(_ line: ControlLine, answeringTransfer: Bool, answersCommand: Bool, into actions: inout [Action]) -> Bool {
        guard let replacement = self.transferReplyReplacement, answeringTransfer, !Self.isPreliminary(line) else { return false }
        actions.append(.dropReply)
        if answersCommand {
            self.transferReplyReplacement = nil
            actions.append(.rewrittenReply(replacement))
        }
        return true
    }
}
