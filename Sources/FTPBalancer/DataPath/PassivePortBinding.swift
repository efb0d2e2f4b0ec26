import Logging

/// The rule for opening a listener at a port of the passive range, which both data paths drive
/// (SwiftNIO's asynchronously, the splice path's in a loop): take the allocator's next port;
/// when it cannot be bound, give it back and take another, up to `attempts` ports; give up with
/// the last port's error, or at once when the whole range is in use.
///
/// Every bind error counts as "another process holds this port": that is the usual one
/// (EADDRINUSE), and for the others (an address not on this host) trying a few more ports
/// costs microseconds before the same error is reported.
struct PassivePortBinding {
    /// Ports of the passive range tried before giving up, when another process holds some.
    static let attempts = 16

    enum Step: Equatable {
        /// Bind a listener at this port, which the allocator now holds for the caller.
        case bind(port: Int)
        /// Give up: answer the client with this error.
        case fail(DataPathError)
    }

    private let host: String
    private let rangeCount: Int
    private var tried = 0
    private var lastFailure: DataPathError?

    init(host: String, ports: PassivePortAllocator) {
        self.init(host: host, rangeCount: ports.range.count)
    }

    init(host: String, rangeCount: Int) {
        self.host = host
        self.rangeCount = rangeCount
    }

    /// What to do next; `allocate` (the allocator's) is called only when a port is to be tried.
    mutating func next(allocate: () -> Int?) -> Step {
        if self.tried >= Self.attempts, let lastFailure = self.lastFailure {
            return .fail(lastFailure)
        }
        guard let port = allocate() else {
            return .fail(
                DataPathError(code: .passivePortsExhausted, detail: "all \(self.rangeCount) passive ports are in use")
            )
        }
        self.tried += 1
        return .bind(port: port)
    }

    /// Binding `port` failed with `error` (the caller has given the port back). True when
    /// another port will be tried; otherwise `next` fails with this error.
    mutating func bindFailed(port: Int, error: any Error) -> Bool {
        self.lastFailure = DataPathError(
            code: .bindFailed,
            detail: OperatorText.describe(error, host: self.host, port: port)
        )
        return self.tried < Self.attempts
    }

    /// `bindFailed`, saying in the debug log that another port is tried.
    mutating func bindFailed(port: Int, error: any Error, logger: Logger) {
        guard self.bindFailed(port: port, error: error) else { return }
        logger.debug(
            "passive port busy, trying another",
            metadata: ["ftp.port": "\(port)", "ftp.error": "\(OperatorText.describe(error))"]
        )
    }
}
