import FTPBalancer

/// One event of `GET /api/v1/trace`, one JSON object per line as the session's lines pass.
package struct TraceEventView: Codable, Equatable, Sendable {
    /// `2026-11-21T10:00:00.123Z`.
    package var time: String
    package var session: Int
    package var client: String
    /// A `TraceEvent.Direction`: `client_to_balancer`, ..., or `event`.
    package var direction: String
    package var line: String
    /// `session_closed` or `dropped`, for events only: left out otherwise.
    package var event: String? = nil
    /// How many events the reader missed, for `dropped` only.
    package var dropped: Int? = nil
}

extension TraceEventView {
    package init(_ event: TraceEvent) {
        self.init(
            time: TransferLogFormatter.rfc3339(event.time),
            session: event.session,
            client: event.client,
            direction: event.direction.rawValue,
            line: event.line,
            event: event.event,
            dropped: event.dropped
        )
    }
}
