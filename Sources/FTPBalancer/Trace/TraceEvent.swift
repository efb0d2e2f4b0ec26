/// One line of a control session as `ftplb trace` shows it: a command or reply as it passed
/// the balancer, or an event of the trace itself.
package struct TraceEvent: Equatable, Sendable {
    package enum Direction: String, Equatable, Sendable {
        /// A command as the client sent it.
        case clientToBalancer = "client_to_balancer"
        /// A command the balancer sent the server instead of the client's (PORT rewritten).
        case balancerToServer = "balancer_to_server"
        /// A reply line as the server sent it.
        case serverToBalancer = "server_to_balancer"
        /// A reply line the client got that is not the server's as sent: rewritten (227, 229,
        /// hidden addresses) or the balancer's own.
        case balancerToClient = "balancer_to_client"
        /// Not a line of the session: the session closed, or events were dropped.
        case event

        /// The short arrow of the human output.
        package var arrow: String {
            switch self {
            case .clientToBalancer: "C->B"
            case .balancerToServer: "B->S"
            case .serverToBalancer: "S->B"
            case .balancerToClient: "B->C"
            case .event: "----"
            }
        }
    }

    package var time: WallClockTime
    package var session: Int
    package var client: String
    package var direction: Direction
    /// The line, a PASS or ACCT argument masked; for an event, what happened.
    package var line: String
    /// `session_closed` or `dropped` for events.
    package var event: String?
    /// How many events this subscriber missed, for `dropped`.
    package var dropped: Int?

    package init(
        time: WallClockTime,
        session: Int,
        client: String,
        direction: Direction,
        line: String,
        event: String? = nil,
        dropped: Int? = nil
    ) {
        self.time = time
        self.session = session
        self.client = client
        self.direction = direction
        self.line = line
        self.event = event
        self.dropped = dropped
    }

    package static let sessionClosed = "session_closed"
    package static let droppedEvents = "dropped"
}
