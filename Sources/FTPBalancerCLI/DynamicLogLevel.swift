import FTPBalancerConfig
import Logging
import Synchronization

/// The process's log level, which a reload may change: every log handler reads it from here.
/// Atomic rather than locked: every log call below the level reads it, and those must cost
/// next to nothing.
final class DynamicLogLevel: Sendable {
    private let levelIndex: Atomic<Int>

    init(_ level: LogLevel) {
        self.levelIndex = Atomic(Self.index(of: Logger.Level(level)))
    }

    var current: Logger.Level { Logger.Level.allCases[self.levelIndex.load(ordering: .relaxed)] }

    func set(_ level: LogLevel) {
        self.levelIndex.store(Self.index(of: Logger.Level(level)), ordering: .relaxed)
    }

    private static func index(of level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 0
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
