import FTPProtocol
import NIOCore

/// How a request to follow sessions came out.
package enum TraceStart: Sendable {
    case started(TraceSubscriber)
    /// No running session has this id (it ended, or never was).
    case unknownSession(Int)
    /// The client address is not an IP address.
    case invalidClient(String)
}

extension Balancer {
    /// Follows one session until it ends.
    package func trace(session id: Int) -> TraceStart {
        let subscriber = TraceSubscriber(scope: .session(id))
        guard self.sessions.attach(subscriber) else {
            subscriber.finish()
            return .unknownSession(id)
        }
        return .started(subscriber)
    }

    /// Follows every session of a client address, those that start later too, until the
    /// reader goes away.
    package func trace(client: String) -> TraceStart {
        guard let address = IPAddress(zoned: client) else {
            return .invalidClient(client)
        }
        let subscriber = TraceSubscriber(scope: .client(address.canonical))
        _ = self.sessions.attach(subscriber)
        return .started(subscriber)
    }
}
