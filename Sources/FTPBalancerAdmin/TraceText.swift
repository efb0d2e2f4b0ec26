import FTPBalancer

/// The human form of a trace event that the admin API streamed as JSON: one aligned line,
/// time, session, arrow, line.
package enum TraceText {
    /// `10:00:00.123  #12     C->B  USER alice`; nil for a line that is not a trace event.
    package static func line(_ json: String) -> String? {
        guard let event = try? JSONValue(parsing: json),
            let session = event["session"]?.intValue,
            let line = event["line"]?.stringValue
        else { return nil }
        let time = event["time"]?.stringValue ?? ""
        // `2026-11-21T10:00:00.123Z`: the time of day is what a reader follows.
        let clock = time.count >= 23 ? String(time.dropFirst(11).prefix(12)) : time
        let arrow = event["direction"]?.stringValue.flatMap(TraceEvent.Direction.init(rawValue:))?.arrow ?? "?"
        let sessionColumn = "#\(session)".padding(toLength: 7)
        return "\(clock)  \(sessionColumn) \(arrow)  \(line)"
    }
}

extension String {
    fileprivate func padding(toLength length: Int) -> String {
        self.count >= length ? self : self + String(repeating: " ", count: length - self.count)
    }
}
