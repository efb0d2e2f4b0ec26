import FTPProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One finished transfer (or, for the JSON format, any finished data connection), as the
/// transfer log writes it.
package struct TransferRecord: Equatable, Sendable {
    package enum Direction: String, Equatable, Sendable {
        /// Server to client: RETR and the listings.
        case download
        /// Client to server: STOR, STOU, APPE.
        case upload
    }

    package enum Status: String, Equatable, Sendable {
        /// The server answered 2xx after the data connection.
        case complete
        /// A 4xx/5xx reply, or the session ended first.
        case incomplete
    }

    package var finished: WallClockTime
    package var session: Int
    package var service: String
    package var clientHost: String
    package var serverName: String?
    package var serverAddress: String?
    package var user: String?
    /// The verb that started the transfer; nil for a data connection no command claimed.
    package var command: String?
    /// The command's argument as sent, decoded leniently: bytes that are not UTF-8 show as U+FFFD.
    package var file: String?
    package var binary: Bool
    /// Nil when the command got its reply without a data connection.
    package var mode: DataConnectionMode?
    package var direction: Direction
    package var bytes: Int
    package var duration: TimeAmount
    /// The server's final reply to the command; nil when none came.
    package var reply: Int?
    package var status: Status

    /// Verbs that move a file, the only ones xferlog records.
    package static let fileVerbs: Set<String> = ["RETR", "STOR", "STOU", "APPE"]
    /// Every verb whose reply follows a data connection.
    package static let transferVerbs = FTPCommand.dataConnectionVerbs

    package static func direction(of verb: String) -> Direction {
        ["STOR", "STOU", "APPE"].contains(verb) ? .upload : .download
    }

    /// A final reply says the transfer completed when it is a 2xx (226 or 250).
    package static func status(ofReply reply: Int?) -> Status {
        if let reply, (200..<300).contains(reply) { return .complete }
        return .incomplete
    }
}

/// Seconds and nanoseconds since the Unix epoch, from the system's real-time clock.
package struct WallClockTime: Equatable, Sendable {
    package var seconds: Int
    package var nanoseconds: Int

    package init(seconds: Int, nanoseconds: Int = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    package static func now() -> WallClockTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return WallClockTime(seconds: Int(spec.tv_sec), nanoseconds: Int(spec.tv_nsec))
    }
}
