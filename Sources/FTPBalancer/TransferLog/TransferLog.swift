import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers

/// The balancer's transfer log: the format and the writer in force, which a reload may change
/// while sessions keep recording.
package final class TransferLog: Sendable {
    private struct Current {
        var configuration: TransferLogConfiguration
        var writer: TransferLogWriter
    }

    private let current = NIOLockedValueBox<Current?>(nil)
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// Switches to `configuration`: a new path opens a new file (the old one is flushed and
    /// closed), nil stops logging. Throws, changing nothing, when the new file cannot be opened.
    package func apply(_ configuration: TransferLogConfiguration?) throws {
        let running = self.current.withLockedValue { $0 }
        if running?.configuration == configuration { return }
        var replaced: TransferLogWriter?
        if let configuration {
            if let running, running.configuration.path == configuration.path {
                self.current.withLockedValue { $0?.configuration = configuration }
            } else {
                let writer = try TransferLogWriter(path: configuration.path, logger: self.logger)
                self.current.withLockedValue { $0 = Current(configuration: configuration, writer: writer) }
                replaced = running?.writer
            }
            self.logger.notice(
                "transfer log",
                metadata: [
                    "ftp.transfer_log": "\(configuration.path)", "ftp.format": "\(configuration.format.rawValue)",
                ]
            )
        } else {
            self.current.withLockedValue { $0 = nil }
            replaced = running?.writer
            if running != nil { self.logger.notice("transfer log off") }
        }
        replaced?.close()
    }

    /// Reopens the file at its path (SIGHUP, after logrotate renamed it).
    package func reopen() {
        self.current.withLockedValue { $0 }?.writer.reopen()
    }

    /// Writes what is queued and closes the file: the balancer is stopping.
    package func close() {
        let running = self.current.withLockedValue { current in
            defer { current = nil }
            return current
        }
        running?.writer.close()
    }

    /// Queues the line for `record`, if a transfer log is on and its format records it.
    func record(_ record: TransferRecord) {
        guard let running = self.current.withLockedValue({ $0 }),
            let line = TransferLogFormatter.line(record, format: running.configuration.format)
        else { return }
        running.writer.append(line)
    }
}
