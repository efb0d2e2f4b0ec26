import CoreMetrics
import Logging
import NIOConcurrencyHelpers

/// Data connections that reached a passive port of this node that it did not open for their
/// client: a port opened for another client (its listener refuses them), or one it has no
/// listener on at all (the kernel resets those; `PassiveRangeWatch` sees them). In a tier of
/// nodes behind ECMP whose router hashes on more than the source and destination address, a
/// client's data connection lands on another node than its control connection.
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

    /// A connection from `peer` to passive port `port`, which this node has no listener on for
    /// that client.
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
            misrouted data connection: a connection to a passive port this node did not open for that \
            client; if this node is one of several behind ECMP, the router must hash on source and \
            destination address only (logged once per address)
            """,
            metadata: metadata
        )
    }
}
