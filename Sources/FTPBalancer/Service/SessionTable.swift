import FTPProtocol
import FTPBalancerConfig
import NIOConcurrencyHelpers
import NIOCore

/// Every running control session of the balancer: counted per virtual service and per client
/// address for the limits, and reachable for a graceful shutdown.
package final class SessionTable: Sendable {
    /// Why a new session was turned away.
    enum Refusal: String, Equatable, Sendable {
        case serviceLimit = "service_session_limit"
        case clientLimit = "client_session_limit"
        case unauthenticatedLimit = "unauthenticated_limit"
        case shuttingDown = "shutting_down"
        case descriptorLimit = "descriptor_limit"

        var reply: String {
            switch self {
            case .serviceLimit: return BalancerReply.serviceSessionLimit
            case .clientLimit: return BalancerReply.clientSessionLimit
            case .unauthenticatedLimit: return BalancerReply.unauthenticatedLimit
            case .shuttingDown: return BalancerReply.shuttingDownNewConnection
            case .descriptorLimit: return BalancerReply.descriptorLimit
            }
        }
    }

    private struct Entry {
        var service: String
        var clientKey: ClientKey
        var session: NIOLoopBound<ControlSession>
        /// Counted in `notLoggedIn` until the session's client logs in.
        var loggedIn = false
    }

    private struct ClientKey: Hashable {
        var service: String
        var host: String
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var perService: [String: Int] = [:]
        var perClient: [ClientKey: Int] = [:]
        /// Sessions of each client address that have not logged in yet.
        var notLoggedIn: [ClientKey: Int] = [:]

        mutating func countLoggedIn(_ clientKey: ClientKey) {
            self.notLoggedIn[clientKey]! -= 1
            if self.notLoggedIn[clientKey] == 0 { self.notLoggedIn[clientKey] = nil }
        }
        var shuttingDown = false
        /// `ftplb trace --client`: followers of every session of a client address, by address.
        var clientTracers: [String: [TraceSubscriber]] = [:]
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Counts a new session, or says which limit turns it away.
    func admit(_ session: ControlSession, limits: SessionLimitConfiguration) -> Refusal? {
        let service = session.service.name
        let clientKey = ClientKey(service: service, host: session.clientHost)
        let bound = NIOLoopBound(session, eventLoop: session.clientChannel.eventLoop)
        // Under the lock that `attach` takes too: a trace of this client sees the session
        // either here or in its own list, never twice and never not at all.
        return self.state.withLockedValue { state in
            if state.shuttingDown { return .shuttingDown }
            if let limit = limits.maxSessions, state.perService[service, default: 0] >= limit {
                return .serviceLimit
            }
            if let limit = limits.maxSessionsPerClient, state.perClient[clientKey, default: 0] >= limit {
                return .clientLimit
            }
            if let limit = limits.maxUnauthenticatedPerClient, state.notLoggedIn[clientKey, default: 0] >= limit {
                return .unauthenticatedLimit
            }
            state.entries[session.id] = Entry(service: service, clientKey: clientKey, session: bound)
            state.perService[service, default: 0] += 1
            state.perClient[clientKey, default: 0] += 1
            state.notLoggedIn[clientKey, default: 0] += 1
            session.tracers = state.clientTracers[clientKey.host] ?? []
            return nil
        }
    }

    // MARK: Traces

    /// Lets `subscriber` follow its session, or every session of its client address from now
    /// on; false when it names a session that is not running. Its stream's end detaches it.
    func attach(_ subscriber: TraceSubscriber) -> Bool {
        let sessions = self.state.withLockedValue { state -> [NIOLoopBound<ControlSession>] in
            switch subscriber.scope {
            case .session(let id):
                return state.entries[id].map { [$0.session] } ?? []
            case .client(let host):
                state.clientTracers[host, default: []].append(subscriber)
                return state.entries.values.filter { $0.clientKey.host == host }.map(\.session)
            }
        }
        if case .session = subscriber.scope, sessions.isEmpty {
            return false
        }
        subscriber.onTermination { [weak self] in self?.detach(subscriber) }
        for session in sessions {
            session.eventLoop.execute { session.value.addTracer(subscriber) }
        }
        return true
    }

    private func detach(_ subscriber: TraceSubscriber) {
        let sessions = self.state.withLockedValue { state -> [NIOLoopBound<ControlSession>] in
            switch subscriber.scope {
            case .session(let id):
                return state.entries[id].map { [$0.session] } ?? []
            case .client(let host):
                state.clientTracers[host]?.removeAll { $0 === subscriber }
                if state.clientTracers[host]?.isEmpty == true { state.clientTracers[host] = nil }
                return state.entries.values.filter { $0.clientKey.host == host }.map(\.session)
            }
        }
        for session in sessions {
            session.eventLoop.execute { session.value.removeTracer(subscriber) }
        }
    }

    /// Followers of a client address, for tests: none once every trace has ended.
    package var clientTraceCount: Int {
        self.state.withLockedValue { $0.clientTracers.values.reduce(0) { $0 + $1.count } }
    }

    func remove(_ id: Int) {
        self.state.withLockedValue { state in
            guard let entry = state.entries.removeValue(forKey: id) else { return }
            state.perService[entry.service]! -= 1
            if state.perService[entry.service] == 0 { state.perService[entry.service] = nil }
            state.perClient[entry.clientKey]! -= 1
            if state.perClient[entry.clientKey] == 0 { state.perClient[entry.clientKey] = nil }
            if !entry.loggedIn { state.countLoggedIn(entry.clientKey) }
        }
    }

    /// The session's client has logged in: it no longer counts against
    /// `max_unauthenticated_per_client`.
    func loggedIn(_ id: Int) {
        self.state.withLockedValue { state in
            guard let entry = state.entries[id], !entry.loggedIn else { return }
            state.entries[id]?.loggedIn = true
            state.countLoggedIn(entry.clientKey)
        }
    }

    /// Shutdown has begun: new connections get 421.
    package var isShuttingDown: Bool {
        self.state.withLockedValue { $0.shuttingDown }
    }

    package var count: Int {
        self.state.withLockedValue { $0.entries.count }
    }

    /// Running sessions per virtual service name.
    package var countsByService: [String: Int] {
        self.state.withLockedValue { $0.perService }
    }

    /// Every running session as it is now, ordered by id. Each is read on its own event loop
    /// (sessions are confined to theirs), all loops at once; a session that ends meanwhile is
    /// left out.
    package func snapshots(on eventLoop: any EventLoop) -> EventLoopFuture<[SessionSnapshot]> {
        let sessions = self.state.withLockedValue { $0.entries.values.map(\.session) }
        let taken = sessions.map { session in
            session.eventLoop.submit { session.value.snapshot(now: .now()) }
        }
        return EventLoopFuture.whenAllComplete(taken, on: eventLoop).map { results in
            results.compactMap { try? $0.get() }.sorted { $0.id < $1.id }
        }
    }

    /// Turns away every new session from now on and asks each running one to end once its
    /// transfer is done.
    func beginShutdown() {
        let sessions = self.state.withLockedValue { state in
            state.shuttingDown = true
            return state.entries.values.map(\.session)
        }
        for session in sessions {
            session.eventLoop.execute { session.value.beginShutdown() }
        }
    }

    /// Ends every session still running.
    func forceShutdown() {
        let sessions = self.state.withLockedValue { $0.entries.values.map(\.session) }
        for session in sessions {
            session.eventLoop.execute { session.value.forceShutdown() }
        }
    }
}
