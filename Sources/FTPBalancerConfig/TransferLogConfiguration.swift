/// Where the balancer writes one line per finished transfer, and in which format.
package struct TransferLogConfiguration: Equatable, Sendable {
    /// An absolute path: the balancer may run from any directory.
    package var path: String
    package var format: TransferLogFormat

    package init(path: String, format: TransferLogFormat = .xferlog) {
        self.path = path
        self.format = format
    }
}

/// The line formats of the transfer log.
package enum TransferLogFormat: String, Equatable, Sendable, CaseIterable {
    /// The wu-ftpd/ProFTPD xferlog(5) line, which log analysers already read; file transfers only.
    case xferlog
    /// One JSON object per line, for every data connection, listings included.
    case json
}
