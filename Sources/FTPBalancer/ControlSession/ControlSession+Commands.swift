import FTPProtocol
import NIOCore

extension ControlSession {
    func clientLine(_ line: ControlLine) {
        self.lastActivity = .now()
        self.trace(.clientToBalancer, Self.traceText(line))
        if self.awaitingUser {
            self.handleLineBeforeUser(line)
            return
        }
        guard self.machine != nil, self.queuedClientLines.isEmpty, !self.awaitingDataPath, self.heldAnswer == nil,
            !(self.machine?.holdsCommands ?? false)
        else {
            self.queuedClientLines.append(line)
            return
        }
        self.handleClientLine(line)
    }

    func handleClientLine(_ line: ControlLine) {
        guard let outstanding = self.machine?.outstandingReplies else { return }
        let command: FTPCommand
        switch line {
        case .overlong:
            self.logger.warning("command line too long; refused", metadata: ["ftp.limit": "\(ControlLineDecoder.defaultMaximumLineLength)"])
            self.answer(BalancerReply.commandTooLong, outstandingBefore: outstanding)
            return
        case .line(let bytes):
            command = FTPCommand(line: bytes)
        }
        self.summary.noteCommand(command)
        self.logger.trace("command", metadata: ["ftp.command": "\(command.loggableDescription)"])
        // In place: a copy of the machine would copy its queues on the first change.
        guard let action = self.machine?.clientCommand(command) else { return }
        switch action {
        case .forward(let forwarded):
            if forwarded != command { self.trace(.balancerToServer, forwarded.loggableDescription) }
            self.noteRelayedCommand(forwarded, repliesAhead: outstanding)
            self.sendServer(forwarded)
        case .answer(let reply):
            self.answer(reply, outstandingBefore: outstanding)
        case .refuse(let reply, let refusal):
            self.service.statistics.refused(refusal.rawValue)
            self.logger.notice(
                "command refused",
                metadata: ["ftp.command": "\(command.loggableDescription)", "ftp.refusal": "\(refusal.rawValue)"]
            )
            self.answer(reply, outstandingBefore: outstanding)
        case .openActive(let request):
            self.openActive(request)
        case .openTranslatedPassive(let request):
            self.openTranslatedPassive(request)
        }
    }

    /// Answers the client directly, but never ahead of replies still due for earlier commands.
    private func answer(_ reply: String, outstandingBefore outstanding: Int) {
        if outstanding == 0 {
            self.sendClient(reply)
        } else {
            self.heldAnswer = reply
        }
    }

    /// Handles queued lines until one of them has to wait again.
    func drainQueues() {
        while !self.awaitingDataPath, let line = self.queuedServerLines.first {
            self.queuedServerLines.removeFirst()
            self.handleServerLine(line)
        }
        self.clientChannel.flush()
        while self.machine != nil, !self.awaitingDataPath, self.heldAnswer == nil,
            !(self.machine?.holdsCommands ?? false), let line = self.queuedClientLines.first
        {
            self.queuedClientLines.removeFirst()
            self.handleClientLine(line)
        }
        self.serverChannel?.flush()
        self.resumeReading()
    }

    /// A held answer goes out once the server has answered everything before it.
    func releaseHeldAnswerIfDue() {
        guard let answer = self.heldAnswer, self.machine?.outstandingReplies == 0 else { return }
        self.heldAnswer = nil
        self.sendClient(answer)
        self.drainQueues()
    }
}
