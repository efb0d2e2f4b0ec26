import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers

/// The process's log level, which a reload may change: every log handler reads it from here.
final class DynamicLogLevel: Sendable {
    private let level: NIOLockedValueBox<Logger.Level>

    init(_ level: LogLevel) {
        self.level = NIOLockedValueBox(Logger.Level(level))
    }

    var current: Logger.Level { self.level.withLockedValue { $0 } }

    func set(_ level: LogLevel) {
        self.level.withLockedValue { $0 = Logger.Level(level) }
    }
}

/// swift-log's stream handler with its level taken from a `DynamicLogLevel`.
struct ReloadableLogHandler: LogHandler {
    private var stream: StreamLogHandler
    let level: DynamicLogLevel

    init(label: String, level: DynamicLogLevel) {
        self.stream = StreamLogHandler.standardError(label: label)
        self.stream.logLevel = .trace
        self.level = level
    }

    var logLevel: Logger.Level {
        get { self.level.current }
        // The level belongs to the configuration file, not to one logger.
        set {}
    }

    var metadata: Logger.Metadata {
        get { self.stream.metadata }
        set { self.stream.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.stream[metadataKey: key] }
        set { self.stream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        self.stream.log(event: event)
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        self = Logger.Level(rawValue: level.rawValue) ?? .info
    }
}
