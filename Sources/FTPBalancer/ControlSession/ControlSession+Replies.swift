import FTPProtocol
import NIOCore

extension ControlSession {
    func serverLine(_ line: ControlLine, from channel: Channel) {
        guard channel === self.serverChannel else { return }
        self.lastActivity = .now()
        guard self.queuedServerLines.isEmpty, !self.awaitingDataPath else {
            self.queuedServerLines.append(line)
            return
        }
        self.handleServerLine(line)
    }

    func handleServerLine(_ line: ControlLine) {
        guard let owed = self.machine?.outstandingReplies else { return }
        let bytes: ByteBuffer
        switch line {
        case .line(let line):
            bytes = line
        case .overlong(let prefix):
            self.logger.warning("server reply line too long; relaying it cut short")
            bytes = prefix
        }
        self.trace(.serverToBalancer, Self.traceText(bytes))
        // In place: a copy of the machine would copy its queues on the first change.
        guard let action = self.machine?.serverReplyLine(bytes) else { return }
        self.noteServerReply(bytes, answeredCommand: (self.machine?.outstandingReplies ?? owed) < owed)
        if self.swallowsGreetingLine(bytes) {
            return
        }
        switch action {
        case .forward(let line):
            if line != bytes {
                self.service.statistics.record { $0.rewrittenReplies += 1 }
                self.trace(.balancerToClient, Self.traceText(line))
            }
            self.sendClient(line)
        case .drop:
            self.service.statistics.record { $0.rewrittenReplies += 1 }
        case .replace(let reply, let error):
            self.service.statistics.record { $0.rewrittenReplies += 1 }
            self.logger.warning("server reply unusable; answered the client instead", metadata: ["ftp.error": "\(OperatorText.describe(error))"])
            self.sendClient(reply)
        case .openPassive(let request):
            self.openPassive(request)
        case .activeRefused(let line):
            self.activeListener?.close()
            self.activeListener = nil
            if line != bytes { self.trace(.balancerToClient, Self.traceText(line)) }
            self.sendClient(line)
        }
        self.releaseHeldAnswerIfDue()
        self.endIfShutdownAndQuiet()
    }
}
