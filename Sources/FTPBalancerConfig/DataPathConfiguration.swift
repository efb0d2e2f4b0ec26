/// How data connections are relayed. Fixed at start: a reload that changes it is logged and
/// takes effect at the next start.
package struct DataPathConfiguration: Equatable, Sendable {
    package enum Relay: String, Equatable, Sendable, CaseIterable {
        /// splice(2) through a pipe per direction, on dedicated threads: bytes stay in the kernel.
        case splice
        /// Read into buffers and written out again, on SwiftNIO's event loops.
        case copy
    }

    package static let defaultPipeSize = 1 << 20
    package static let pipeSizes = 4096...(1 << 30)
    package static let threadCounts = 1...2

    package var relay: Relay
    /// Bytes per pipe, one pipe per direction of each spliced data connection: what a direction
    /// may hold between a fast sender and a slow receiver.
    package var pipeSize: Int
    /// Threads relaying spliced data connections.
    package var threads: Int

    package init(relay: Relay = .splice, pipeSize: Int = DataPathConfiguration.defaultPipeSize, threads: Int = 1) {
        self.relay = relay
        self.pipeSize = pipeSize
        self.threads = threads
    }
}
