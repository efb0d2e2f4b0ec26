import NIOCore

/// Pairs a session's transfer commands with their final replies and data connections, so that
/// each finished transfer becomes one record: when both the data connection has closed and the
/// server has given its final reply, or when the session ends. No I/O and no clock: `now` is
/// an argument.
struct TransferTracker {
    /// A transfer command waiting for its final reply, its data connection, or both.
    struct Pending: Equatable {
        var verb: String
        var file: String?
        var binary: Bool
        var started: NIODeadline
        /// The server's completion replies are numbered from 0, the greeting first; this is
        /// the number of the one that answers the command.
        var replyNumber: Int
        var reply: Int?
        var report: DataFlowReport?
    }

    /// A transfer ready for the log: `report` is nil when no data connection was made for it;
    /// `verb` is nil for a data connection no transfer command claimed.
    struct Finished: Equatable {
        var verb: String?
        var file: String?
        var binary: Bool
        var reply: Int?
        var report: DataFlowReport?
        var duration: TimeAmount
    }

    private var pending: [Pending] = []
    private var repliesSeen = 0
    /// RFC 959: the representation type is ASCII until TYPE says otherwise.
    private(set) var binary = false

    /// The client sent TYPE, which the server got.
    mutating func typeRelayed(_ argument: String?) {
        switch argument?.uppercased().first {
        case "I", "L": self.binary = true
        case "A", "E": self.binary = false
        default: break
        }
    }

    /// A transfer command went to the server; `repliesAhead` completion replies are due before
    /// its own.
    mutating func transferRelayed(verb: String, file: String?, repliesAhead: Int, now: NIODeadline) {
        self.pending.append(
            Pending(
                verb: verb,
                file: file,
                binary: self.binary,
                started: now,
                replyNumber: self.repliesSeen + repliesAhead,
                reply: nil,
                report: nil
            )
        )
    }

    /// The server gave a completion reply (2xx-5xx) that answers a command. A transfer refused
    /// before any data connection (550, 425) is finished now; otherwise it waits for its data
    /// connection to close.
    mutating func completionReply(_ code: Int, openDataFlows: Int, now: NIODeadline) -> Finished? {
        let number = self.repliesSeen
        self.repliesSeen += 1
        guard let index = self.pending.firstIndex(where: { $0.replyNumber == number }) else { return nil }
        self.pending[index].reply = code
        let transfer = self.pending[index]
        let refusedWithoutData = !(200..<300).contains(code) && openDataFlows == 0
        guard transfer.report != nil || refusedWithoutData else { return nil }
        self.pending.remove(at: index)
        return Self.finished(transfer, now: now)
    }

    /// A data connection closed: it belongs to the oldest transfer still without one.
    mutating func dataFlowEnded(_ report: DataFlowReport, now: NIODeadline) -> Finished? {
        guard let index = self.pending.firstIndex(where: { $0.report == nil }) else {
            return Finished(
                verb: nil,
                file: nil,
                binary: self.binary,
                reply: nil,
                report: report,
                duration: report.duration
            )
        }
        self.pending[index].report = report
        guard self.pending[index].reply != nil else { return nil }
        return Self.finished(self.pending.remove(at: index), now: now)
    }

    /// The session ended: whatever is pending is finished as it stands.
    mutating func sessionEnded(now: NIODeadline) -> [Finished] {
        defer { self.pending.removeAll() }
        return self.pending.map { Self.finished($0, now: now) }
    }

    private static func finished(_ transfer: Pending, now: NIODeadline) -> Finished {
        Finished(
            verb: transfer.verb,
            file: transfer.file,
            binary: transfer.binary,
            reply: transfer.reply,
            report: transfer.report,
            duration: transfer.report?.duration ?? (now - transfer.started)
        )
    }
}

// Compared field by field in tests of the tracker; the data path does not need it.
extension DataFlowReport: Equatable {
    package static func == (left: DataFlowReport, right: DataFlowReport) -> Bool {
        left.mode == right.mode && left.bytesToClient == right.bytesToClient
            && left.bytesToServer == right.bytesToServer && left.duration == right.duration
    }
}
