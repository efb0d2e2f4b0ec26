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
        let heldCommands = self.machine?.holdsCommands ?? false
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
            // A translated PASV/EPSV holds its client's passive listener too.
            self.closeListeners()
            if line != bytes { self.trace(.balancerToClient, Self.traceText(line)) }
            self.sendClient(line)
        case .resend(let command):
            self.logger.debug(
                "server refused EPSV; sending PASV",
                metadata: ["ftp.server.reply": "\(Self.traceText(bytes))"]
            )
            self.trace(.balancerToServer, command.loggableDescription)
            self.sendServer(command)
            self.serverChannel?.flush()
        case .answerPassive(let kind):
            self.answerTranslatedPassive(kind)
        case .openTranslatedActive(let request, let passive):
            self.openTranslatedActive(request, serverPassive: passive)
        }
        // Commands that waited for this reply go on, unless a data listener is being opened.
        if heldCommands, !(self.machine?.holdsCommands ?? false), !self.awaitingDataPath {
            self.drainQueues()
        }
        self.releaseHeldAnswerIfDue()
        self.endIfShutdownAndQuiet()
    }
}
