import FTPBalancerConfig
import NIOConcurrencyHelpers

/// The real FTP servers of one virtual service, and the order in which a new control session
/// tries them: round robin, so that each session starts one server further on.
package final class ServerPool: Sendable {
    package let servers: [ServerConfiguration]
    private let nextIndex = NIOLockedValueBox(0)

    package init(servers: [ServerConfiguration]) {
        precondition(!servers.isEmpty, "a pool needs a server")
        self.servers = servers
    }

    /// Every server once, starting with the one whose turn it is. The session tries them in this
    /// order, so a server that refuses or times out is skipped before the client sees anything.
    package func candidates() -> [ServerConfiguration] {
        let start = self.nextIndex.withLockedValue { index in
            defer { index = (index + 1) % self.servers.count }
            return index
        }
        return Array(self.servers[start...] + self.servers[..<start])
    }
}
