import FTPProtocol
import NIOCore

/// Feeds the session's transfer tracker, and turns what it finishes into transfer-log records.
extension ControlSession {
    /// A command went to the server: remember transfers and TYPE. `repliesAhead` is what the
    /// server owed before it.
    func noteRelayedCommand(_ command: FTPCommand, repliesAhead: Int) {
        if command.verb == "TYPE" {
            self.transfers.typeRelayed(command.asciiArgument)
        } else if TransferRecord.transferVerbs.contains(command.verb) {
            let file = command.argument.map { String(decoding: $0.readableBytesView, as: UTF8.self) }
            self.transfers.transferRelayed(verb: command.verb, file: file, repliesAhead: repliesAhead, now: .now())
        }
    }

    /// A server reply line: counted if it was a completion reply that answered a command.
    func noteServerReply(_ line: ByteBuffer, answeredCommand: Bool) {
        // A completion reply always starts with its code; the framer checked it.
        guard answeredCommand, let code = ReplyFramer.code(of: line) else { return }
        self.logTransfer(self.transfers.completionReply(code, openDataFlows: self.machine.openDataFlows, now: .now()))
    }

    func noteDataFlowEnded(_ report: DataFlowReport) {
        self.logTransfer(self.transfers.dataFlowEnded(report, now: .now()))
    }

    func noteSessionEnded() {
        for finished in self.transfers.sessionEnded(now: .now()) {
            self.logTransfer(finished)
        }
    }

    private func logTransfer(_ finished: TransferTracker.Finished?) {
        guard let finished else { return }
        let direction = TransferRecord.direction(of: finished.verb ?? "")
        let bytes = finished.report.map { direction == .upload ? $0.bytesToServer : $0.bytesToClient } ?? 0
        self.transferLog.record(
            TransferRecord(
                finished: .now(),
                session: self.id,
                service: self.service.name,
                clientHost: self.clientHost,
                serverName: self.lease?.server.name ?? self.summary.server,
                serverAddress: self.lease?.server.address.description ?? self.summary.serverAddress,
                user: self.summary.user,
                command: finished.verb,
                file: finished.file,
                binary: finished.binary,
                mode: finished.report?.mode,
                direction: direction,
                bytes: bytes,
                duration: finished.duration,
                reply: finished.reply,
                status: finished.verb == nil ? .incomplete : TransferRecord.status(ofReply: finished.reply)
            )
        )
    }
}
