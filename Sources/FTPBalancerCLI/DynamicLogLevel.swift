import FTPBalancerConfig
import Logging
import Synchronization

/// The process's log level, which a reload may change: every log handler reads it from here.
/// Atomic rather than locked: every log call below the level reads it, and those must cost
/// next to nothing.
final class DynamicLogLevel: Sendable {
    private let levelIndex: Atomic<Int>
    /// Made once: `allCases` builds a new array on every call, and `current` is read per log call.
    private static let levels = Logger.Level.allCases

    init(_ level: LogLevel) {
        self.levelIndex = Atomic(Self.index(of: Logger.Level(level)))
    }

    var current: Logger.Level { Self.levels[self.levelIndex.load(ordering: .relaxed)] }

    func set(_ level: LogLevel) {
        self.levelIndex.store(Self.index(of: Logger.Level(level)), ordering: .relaxed)
    }

    private static func index(of level: Logger.Level) -> Int {
        Self.levels.firstIndex(of: level) ?? 0
    }
}

/// swift-log's stream handler with its level taken from a `DynamicLogLevel`.
///
/// It keeps the logger's metadata itself and hands it to the stream handler only with an event
/// that is written. The stream handler renders its metadata again on every change, and each
/// session changes it as it starts and connects, while most of its loggers never write a line.
struct ReloadableLogHandler: LogHandler {
    private let stream: StreamLogHandler
    let level: DynamicLogLevel
    var metadata: Logger.Metadata = [:]

    init(label: String, level: DynamicLogLevel) {
        var stream = StreamLogHandler.standardError(label: label)
        stream.logLevel = .trace
        self.stream = stream
        self.level = level
    }

    var logLevel: Logger.Level {
        get { self.level.current }
        // The level belongs to the configuration file, not to one logger.
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        // The event's own metadata wins over the logger's, as in the stream handler.
        event.metadata = self.metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        self.stream.log(event: event)
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        self = Logger.Level(rawValue: level.rawValue) ?? .info
    }
}
