import CoreMetrics
import Logging
import NIOConcurrencyHelpers

/// Data connections that reached a passive port of this node from an address other than the
/// client the port was opened for. In a tier of nodes behind ECMP whose router hashes on more
/// than the source and destination address, a client's data connection lands on another node
/// than its control connection: where that node has the same port open for a session of its
/// own, this is what it sees (where it has not, its kernel resets the connection unseen).
/// Counted in `ftplb_misrouted_data_connections_total` and logged once per client address, so
/// that a wrong router hash shows at once without flooding the log. Called from the event loops
/// and the splice threads alike.
package final class MisroutedDataConnections: Sendable {
    /// Client addresses already logged; past this many, the memory starts over (and each is
    /// logged once more), so that a flood of addresses cannot grow it.
    static let rememberedClients = 1024

    private let counter: Counter
    private let logged = NIOLockedValueBox<Set<String>>([])

    init(counter: Counter) {
        self.counter = counter
    }

    /// A connection from `peer` to passive port `port`, which was opened for another client.
    func record(peer: String, port: Int, logger: Logger) {
        self.counter.increment()
        let first = self.logged.withLockedValue { logged in
            if logged.count >= Self.rememberedClients { logged.removeAll() }
            return logged.insert(peer).inserted
        }
        let metadata: Logger.Metadata = ["ftp.peer": "\(peer)", "ftp.port": "\(port)"]
        guard first else {
            logger.debug("refused another misrouted data connection from this address", metadata: metadata)
            return
        }
        logger.warning(
            """
            misrouted data connection: refused a connection to a passive port opened for another client; \
            if this node is one of several behind ECMP, the router must hash on source and destination \
            address only (logged once per address)
            """,
            metadata: metadata
        )
    }
}
