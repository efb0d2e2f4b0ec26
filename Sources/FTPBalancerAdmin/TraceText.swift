import FTPBalancer

/// The human form of a trace event that the admin API streamed as JSON: one aligned line,
/// time, session, arrow, line.
package enum TraceText {
    /// `10:00:00.123  #12     C->B  USER alice`; nil for a line that is not a trace event.
    package static func line(_ json: String) -> String? {
        guard let event = try? AdminJSON.decode(TraceEventView.self, from: json.utf8) else { return nil }
        // `2026-11-21T10:00:00.123Z`: the time of day is what a reader follows.
        let clock = event.time.count >= 23 ? String(event.time.dropFirst(11).prefix(12)) : event.time
        let arrow = TraceEvent.Direction(rawValue: event.direction)?.arrow ?? "?"
        let sessionColumn = "#\(event.session)".padding(toLength: 7)
        return "\(clock)  \(sessionColumn) \(arrow)  \(event.line)"
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        self.count >= length ? self : self + String(repeating: " ", count: length - self.count)
    }
}
