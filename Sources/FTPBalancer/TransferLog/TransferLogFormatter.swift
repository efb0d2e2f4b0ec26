import FTPBalancerConfig

#if canImport(Glibc)
import Glibc
#endif

/// Turns a `TransferRecord` into one line of the transfer log, without its line end.
package enum TransferLogFormatter {
    /// The line for `record`, or nil when the format does not record it (xferlog logs files only).
    package static func line(_ record: TransferRecord, format: TransferLogFormat) -> String? {
        switch format {
        case .xferlog: return Self.xferlog(record)
        case .json: return Self.json(record)
        }
    }

    // MARK: xferlog

    /// The wu-ftpd/ProFTPD line: current-time transfer-time remote-host file-size filename
    /// transfer-type special-action-flag direction access-mode username service-name
    /// authentication-method authenticated-user-id completion-status. Times are local, as
    /// those servers write them; `utc` is for tests.
    package static func xferlog(_ record: TransferRecord, utc: Bool = false) -> String? {
        guard let command = record.command, TransferRecord.fileVerbs.contains(command) else { return nil }
        let seconds = max(1, Int((record.duration.nanoseconds + 500_000_000) / 1_000_000_000))
        let user = record.user ?? "-"
        let anonymous = ["anonymous", "ftp"].contains(user.lowercased())
        let fields = [
            Self.ctime(record.finished, utc: utc),
            "\(seconds)",
            record.clientHost,
            "\(record.bytes)",
            Self.xferlogField(record.file ?? "-"),
            record.binary ? "b" : "a",
            "_",
            record.direction == .upload ? "i" : "o",
            anonymous ? "a" : "r",
            Self.xferlogField(user),
            "ftp",
            "0",
            "*",
            record.status == .complete ? "c" : "i",
        ]
        return fields.joined(separator: " ")
    }

    /// Fields are separated by spaces: ProFTPD writes a space in a file name as `_`, and so
    /// does the balancer, for control characters too, so that a line stays one line.
    package static func xferlogField(_ text: String) -> String {
        if text.isEmpty { return "-" }
        var field = ""
        field.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            field.unicodeScalars.append(scalar.value <= 0x20 || scalar.value == 0x7F ? "_" : scalar)
        }
        return field
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Mon Nov 21 10:00:00 2026`, the asctime(3) form with a space-padded day.
    package static func ctime(_ time: WallClockTime, utc: Bool) -> String {
        let parts = Self.brokenDown(time, utc: utc)
        let day = parts.tm_mday < 10 ? " \(parts.tm_mday)" : "\(parts.tm_mday)"
        return "\(Self.weekdays[Int(parts.tm_wday)]) \(Self.months[Int(parts.tm_mon)]) \(day) "
            + "\(Self.twoDigits(parts.tm_hour)):\(Self.twoDigits(parts.tm_min)):\(Self.twoDigits(parts.tm_sec)) "
            + "\(parts.tm_year + 1900)"
    }

    // MARK: JSON lines

    package static func json(_ record: TransferRecord) -> String {
        var object = JSONLineObject()
        object.add("time", string: Self.rfc3339(record.finished))
        object.add("session", number: record.session)
        object.add("service", string: record.service)
        object.add("client", string: record.clientHost)
        object.add("server", string: record.serverName)
        object.add("server_address", string: record.serverAddress)
        object.add("user", string: record.user)
        object.add("command", string: record.command)
        object.add("file", string: record.file)
        object.add("type", string: record.binary ? "binary" : "ascii")
        object.add("mode", string: record.mode?.rawValue)
        object.add("direction", string: record.direction.rawValue)
        object.add("bytes", number: record.bytes)
        object.add("duration_ms", number: Int(record.duration.nanoseconds / 1_000_000))
        object.add("reply", number: record.reply)
        object.add("status", string: record.status.rawValue)
        return object.text
    }

    /// `2026-11-21T10:00:00.123Z`: RFC 3339 in UTC, with milliseconds.
    package static func rfc3339(_ time: WallClockTime) -> String {
        let parts = Self.brokenDown(time, utc: true)
        let milliseconds = time.nanoseconds / 1_000_000
        let fraction =
            milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(Self.twoDigits(parts.tm_mon + 1))-\(Self.twoDigits(parts.tm_mday))"
            + "T\(Self.twoDigits(parts.tm_hour)):\(Self.twoDigits(parts.tm_min)):\(Self.twoDigits(parts.tm_sec))"
            + ".\(fraction)Z"
    }

    private static func brokenDown(_ time: WallClockTime, utc: Bool) -> tm {
        var seconds = time_t(time.seconds)
        var parts = tm()
        if utc {
            gmtime_r(&seconds, &parts)
        } else {
            localtime_r(&seconds, &parts)
        }
        return parts
    }

    private static func twoDigits(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

/// A flat JSON object written field by field, keys in the order written: all the transfer log
/// needs, in a module that does not link Foundation.
package struct JSONLineObject {
    private(set) package var text = "{"

    package init() {}

    /// A string field; nil is written as null.
    package mutating func add(_ key: String, string value: String?) {
        self.key(key)
        if let value {
            Self.quote(value, into: &self.text)
        } else {
            self.text += "null"
        }
        self.text += "}"
    }

    package mutating func add(_ key: String, number value: Int?) {
        self.key(key)
        self.text += value.map { "\($0)" } ?? "null"
        self.text += "}"
    }

    private mutating func key(_ key: String) {
        if self.text.hasSuffix("}") {
            self.text.removeLast()
            self.text += ","
        }
        Self.quote(key, into: &self.text)
        self.text += ":"
    }

    /// RFC 8259 string escaping: quote, backslash and control characters.
    private static func quote(_ value: String, into text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
