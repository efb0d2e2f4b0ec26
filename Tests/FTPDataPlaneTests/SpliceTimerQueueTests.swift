import FTPDataPlane
import Testing

@Suite struct SpliceTimerQueueTests {
    let start = MonotonicTime(uptimeNanoseconds: 1_000_000_000)

    func at(_ milliseconds: Int64) -> MonotonicTime { self.start + .milliseconds(milliseconds) }

    @Test func dueTimersComeOutEarliestFirstAndOnlyOnce() {
        var queue = SpliceTimerQueue<String>()
        for (delay, name) in [(30, "c"), (10, "a"), (50, "e"), (20, "b"), (40, "d")] {
            _ = queue.schedule(at: self.at(Int64(delay)), name)
        }
        #expect(queue.earliestDeadline() == self.at(10))
        #expect(queue.removeDue(at: self.at(5)) == [])
        #expect(queue.removeDue(at: self.at(30)) == ["a", "b", "c"])
        #expect(queue.removeDue(at: self.at(30)) == [])
        #expect(queue.earliestDeadline() == self.at(40))
        #expect(queue.count == 2)
        #expect(queue.removeDue(at: self.at(1000)) == ["d", "e"])
        #expect(queue.earliestDeadline() == nil)
    }

    @Test func aCancelledTimerNeverRunsNorSetsTheSleep() {
        var queue = SpliceTimerQueue<String>()
        let first = queue.schedule(at: self.at(10), "first")
        _ = queue.schedule(at: self.at(20), "second")
        queue.cancel(first)
        queue.cancel(first)  // twice is harmless
        #expect(queue.count == 1)
        #expect(queue.earliestDeadline() == self.at(20))
        #expect(queue.removeDue(at: self.at(100)) == ["second"])
    }

    /// The relays' pattern: each data connection schedules an idle timer minutes away and
    /// cancels it when it closes. The heap must not keep every cancelled one until then.
    @Test func cancelledTimersDoNotPileUpAndTheRestStayInOrder() {
        var queue = SpliceTimerQueue<Int64>()
        var generator = SystemRandomNumberGenerator()
        var kept = 0
        for step in 0..<20_000 {
            let delay = Int64.random(in: 1...300_000, using: &generator)
            let id = queue.schedule(at: self.at(delay), delay)
            if step % 10 == 0 {
                kept += 1
            } else {
                queue.cancel(id)
            }
            #expect(queue.storedEntries <= max(65, 2 * queue.count + 1))
        }
        #expect(queue.count == kept)
        let due = queue.removeDue(at: self.at(300_000))
        #expect(due.count == kept)
        #expect(due == due.sorted())
        #expect(queue.storedEntries == 0)
    }
}
