import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer

@Suite("Trace events")
struct TraceEventTests {
    static func event(_ line: String, direction: TraceEvent.Direction = .clientToBalancer) -> TraceEvent {
        TraceEvent(
            time: WallClockTime(seconds: 1_795_255_200, nanoseconds: 5_000_000),
            session: 12,
            client: "192.0.2.10",
            direction: direction,
            line: line
        )
    }

    @Test("PASS and ACCT arguments are masked in a traced command, whatever their case or separator.")
    func masking() {
        #expect(ControlSession.traceText(.line(ByteBuffer(string: "PASS secret"))) == "PASS ****")
        #expect(ControlSession.traceText(.line(ByteBuffer(string: "pass secret"))) == "PASS ****")
        #expect(ControlSession.traceText(.line(ByteBuffer(string: "PASS\tsecret"))) == "PASS ****")
        #expect(ControlSession.traceText(.line(ByteBuffer(string: "ACCT billing"))) == "ACCT ****")
        #expect(ControlSession.traceText(.line(ByteBuffer(string: "USER alice"))) == "USER alice")
        #expect(!ControlSession.traceText(.overlong(prefix: ByteBuffer(string: "PASS secret"))).contains("secret"))
    }

    @Test("A slow reader loses events, and is told how many once there is room again.")
    func droppedEvents() async {
        let subscriber = TraceSubscriber(scope: .session(12), capacity: 2)
        for index in 0..<5 {
            subscriber.deliver(Self.event("NOOP \(index)"))
        }
        #expect(subscriber.pendingDropped == 3)
        var iterator = subscriber.events.makeAsyncIterator()
        #expect(await iterator.next()?.line == "NOOP 0")
        #expect(await iterator.next()?.line == "NOOP 1")
        subscriber.deliver(Self.event("NOOP 5"))
        let notice = await iterator.next()
        #expect(notice?.event == "dropped")
        #expect(notice?.dropped == 3)
        #expect(await iterator.next()?.line == "NOOP 5")
        #expect(subscriber.pendingDropped == 0)
        subscriber.finish()
        #expect(await iterator.next() == nil)
    }
}

@Suite("Following sessions")
struct TraceAttachTests {
    @Test("A trace of a session that is not running is refused.")
    func unknownSession() {
        #expect(!SessionTable().attach(TraceSubscriber(scope: .session(42))))
    }

    @Test("A client trace is kept for sessions to come until its stream ends, then forgotten.")
    func clientTraceDetaches() {
        let table = SessionTable()
        let subscriber = TraceSubscriber(scope: .client("192.0.2.10"))
        #expect(table.attach(subscriber))
        #expect(table.clientTraceCount == 1)
        subscriber.finish()
        #expect(table.clientTraceCount == 0)
    }
}
