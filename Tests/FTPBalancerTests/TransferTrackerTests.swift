import NIOCore
import Testing

@testable import FTPBalancer

@Suite("Pairing transfer commands with replies and data connections")
struct TransferTrackerTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static let report = DataFlowReport(mode: .epsv, bytesToClient: 500, bytesToServer: 0, duration: .milliseconds(30))

    /// A session after its greeting and login: three completion replies seen.
    static func loggedIn() -> TransferTracker {
        var tracker = TransferTracker()
        for _ in 0..<3 { _ = tracker.completionReply(230, openDataFlows: 0, now: Self.start) }
        return tracker
    }

    @Test("226 before the data connection closes: the record waits for the close.")
    func replyThenClose() {
        var tracker = Self.loggedIn()
        tracker.typeRelayed("I")
        tracker.transferRelayed(verb: "RETR", file: "a.bin", repliesAhead: 0, now: Self.start)
        #expect(tracker.completionReply(226, openDataFlows: 1, now: Self.start) == nil)
        #expect(
            tracker.dataFlowEnded(Self.report, now: Self.start)
                == .init(
                    verb: "RETR",
                    file: "a.bin",
                    binary: true,
                    reply: 226,
                    report: Self.report,
                    duration: .milliseconds(30)
                )
        )
    }

    @Test("The data connection closes before 226: the reply finishes the record.")
    func closeThenReply() {
        var tracker = Self.loggedIn()
        tracker.transferRelayed(verb: "STOR", file: "up", repliesAhead: 0, now: Self.start)
        #expect(tracker.dataFlowEnded(Self.report, now: Self.start) == nil)
        let finished = tracker.completionReply(226, openDataFlows: 0, now: Self.start)
        #expect(finished?.verb == "STOR")
        #expect(finished?.binary == false)
        #expect(finished?.report == Self.report)
    }

    @Test("A refusal with no data connection (550) is finished at once, without a report.")
    func refusedWithoutData() {
        var tracker = Self.loggedIn()
        tracker.transferRelayed(verb: "RETR", file: "missing", repliesAhead: 0, now: Self.start)
        let finished = tracker.completionReply(550, openDataFlows: 0, now: Self.start + .milliseconds(5))
        #expect(
            finished
                == .init(
                    verb: "RETR",
                    file: "missing",
                    binary: false,
                    reply: 550,
                    report: nil,
                    duration: .milliseconds(5)
                )
        )
    }

    @Test("A 426 while the data connection is open waits for it, so the bytes moved are counted.")
    func abortedWaitsForData() {
        var tracker = Self.loggedIn()
        tracker.transferRelayed(verb: "RETR", file: "big", repliesAhead: 0, now: Self.start)
        #expect(tracker.completionReply(426, openDataFlows: 1, now: Self.start) == nil)
        #expect(tracker.dataFlowEnded(Self.report, now: Self.start)?.reply == 426)
    }

    @Test("Replies owed to earlier commands are not taken for the transfer's.")
    func repliesAhead() {
        var tracker = Self.loggedIn()
        // TYPE I and EPSV still unanswered when RETR is relayed.
        tracker.transferRelayed(verb: "RETR", file: "f", repliesAhead: 2, now: Self.start)
        #expect(tracker.completionReply(200, openDataFlows: 0, now: Self.start) == nil)
        #expect(tracker.completionReply(229, openDataFlows: 0, now: Self.start) == nil)
        #expect(tracker.dataFlowEnded(Self.report, now: Self.start) == nil)
        #expect(tracker.completionReply(226, openDataFlows: 0, now: Self.start)?.reply == 226)
    }

    @Test("A session that ends with a transfer pending finishes it without a reply.")
    func sessionEnds() {
        var tracker = Self.loggedIn()
        tracker.transferRelayed(verb: "RETR", file: "f", repliesAhead: 0, now: Self.start)
        #expect(tracker.dataFlowEnded(Self.report, now: Self.start) == nil)
        let finished = tracker.sessionEnded(now: Self.start)
        #expect(finished.count == 1)
        #expect(finished.first?.reply == nil)
        #expect(finished.first?.report == Self.report)
        #expect(tracker.sessionEnded(now: Self.start).isEmpty)
    }

    @Test("A data connection no command claimed is reported on its own.")
    func unclaimed() {
        var tracker = Self.loggedIn()
        #expect(tracker.dataFlowEnded(Self.report, now: Self.start)?.verb == nil)
    }
}
