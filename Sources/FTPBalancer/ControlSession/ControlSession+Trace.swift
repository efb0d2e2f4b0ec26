import FTPProtocol
import NIOCore

/// `ftplb trace`: the session's lines, pushed to whoever follows it. Nobody following costs
/// one empty-array check per line.
extension ControlSession {
    func trace(_ direction: TraceEvent.Direction, _ line: @autoclosure () -> String) {
        guard !self.tracers.isEmpty else { return }
        let event = TraceEvent(
            time: .now(),
            session: self.id,
            client: self.clientHost,
            direction: direction,
            line: line()
        )
        for tracer in self.tracers {
            tracer.deliver(event)
        }
    }

    /// A command line as it may be shown: PASS and ACCT masked.
    static func traceText(_ line: ControlLine) -> String {
        switch line {
        case .line(let bytes): FTPCommand(line: bytes).loggableDescription
        case .overlong(let prefix): "\(FTPCommand(line: prefix).loggableDescription)... (line too long; refused)"
        }
    }

    static func traceText(_ line: ByteBuffer) -> String {
        String(decoding: line.readableBytesView, as: UTF8.self)
    }

    func addTracer(_ tracer: TraceSubscriber) {
        guard !self.tracingEnded else {
            // The session ended between the lookup and now.
            self.closeTrace(for: tracer)
            return
        }
        guard !self.tracers.contains(where: { $0 === tracer }) else { return }
        self.tracers.append(tracer)
    }

    func removeTracer(_ tracer: TraceSubscriber) {
        self.tracers.removeAll { $0 === tracer }
    }

    /// The session has ended: every follower hears it; a trace of this session alone ends.
    func endTraces() {
        self.tracingEnded = true
        let tracers = self.tracers
        self.tracers = []
        for tracer in tracers {
            self.closeTrace(for: tracer)
        }
    }

    private func closeTrace(for tracer: TraceSubscriber) {
        tracer.deliver(
            TraceEvent(
                time: .now(),
                session: self.id,
                client: self.clientHost,
                direction: .event,
                line: "session closed",
                event: TraceEvent.sessionClosed
            )
        )
        if case .session = tracer.scope {
            tracer.finish()
        }
    }
}
