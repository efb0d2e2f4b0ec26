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

    /// A change prepared but not yet in force: the new file is already open.
    package struct Change: Sendable {
        fileprivate var configuration: TransferLogConfiguration?
        fileprivate var writer: TransferLogWriter?

        /// The change will not be made: closes the file it opened.
        package func discard() {
            self.writer?.close()
        }
    }

    /// Switches to `configuration` now; throws, changing nothing, when its file cannot be opened.
    package func apply(_ configuration: TransferLogConfiguration?) throws {
        self.install(try self.prepare(configuration))
    }

    /// Opens the file `configuration` names if it is not the one open now, so that a reload
    /// can fail before anything has changed.
    package func prepare(_ configuration: TransferLogConfiguration?) throws -> Change {
        let running = self.current.withLockedValue { $0?.configuration }
        guard let configuration, configuration.path != running?.path else {
            return Change(configuration: configuration, writer: nil)
        }
        return Change(
            configuration: configuration,
            writer: try TransferLogWriter(path: configuration.path, logger: self.logger)
        )
    }

    /// Puts a prepared change in force: a new path's file replaces the old one, which is
    /// flushed and closed; nil stops logging.
    package func install(_ change: Change) {
        let previous = self.current.withLockedValue { current -> Current? in
            let previous = current
            if let configuration = change.configuration {
                // A new path comes with its writer; the same path keeps the file open now.
                if let writer = change.writer ?? previous?.writer {
                    current = Current(configuration: configuration, writer: writer)
                }
            } else {
                current = nil
            }
            return previous
        }
        if previous?.configuration != change.configuration {
            if let configuration = change.configuration {
                self.logger.notice(
                    "transfer log",
                    metadata: [
                        "ftp.transfer_log": "\(configuration.path)", "ftp.format": "\(configuration.format.rawValue)",
                    ]
                )
            } else {
                self.logger.notice("transfer log off")
            }
        }
        if let previous, change.writer != nil || change.configuration == nil {
            previous.writer.close()
        }
    }

    /// Whether the file is being written (false while writes fail); nil with no transfer log.
    package var writable: Bool? {
        self.current.withLockedValue { $0 }?.writer.isWriting
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

    /// Queues the line for `record`, if a transfer log is on and its format records it. The
    /// record is built only then: most balancers run without a transfer log.
    func record(_ record: @autoclosure () -> TransferRecord) {
        guard let running = self.current.withLockedValue({ $0 }),
            let line = TransferLogFormatter.line(record(), format: running.configuration.format)
        else { return }
        running.writer.append(line)
    }
}
