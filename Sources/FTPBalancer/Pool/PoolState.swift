import FTPBalancerConfig
import NIOCore

/// The servers of one pool with everything the balancer knows about them at run time, and the
/// decisions made from it: which server takes a new session, and when health turns. No I/O, no
/// lock, no clock: `ServerPool` holds it under a lock and passes `now` in.
package struct PoolState {
    /// Whether the health checks (or failed connects) currently count a server as usable.
    package enum Health: String, Equatable, Sendable {
        case up, down
    }

    /// One server with its run-time state. `id` stays the same across reloads as long as the
    /// server keeps its name and address, so leases taken before a reload still count.
    package struct Member {
        package let id: Int
        package var configuration: ServerConfiguration
        /// The server as the file gives it: an admin change back to it is no override.
        package var file: ServerConfiguration
        package var health: Health = .up
        package var consecutivePasses = 0
        package var consecutiveFailures = 0
        package var activeSessions = 0
        /// Smooth weighted round robin's running value.
        package var currentWeight = 0
        /// Exponentially weighted connect latency in seconds; nil until one is measured.
        package var connectLatency: Double?
        package var checkRunning = false
        package var nextCheck: NIODeadline = .uptimeNanoseconds(0)
        /// Removed by a reload; kept only while sessions still hold it.
        package var retired = false
        /// The result of the last health check, for the admin API.
        package var lastCheck: CheckResult?
        /// What an operator changed through the admin API since the file was last applied.
        package var adminOverride = AdminOverride()
        /// Bytes of the data connections through this server that have ended.
        package var bytesToClient = 0
        package var bytesToServer = 0

        package var isPrimary: Bool { !self.configuration.backup }

        package var hasRoom: Bool {
            self.configuration.maxSessions.map { self.activeSessions < $0 } ?? true
        }

        package init(id: Int, configuration: ServerConfiguration) {
            self.id = id
            self.configuration = configuration
            self.file = configuration
        }
    }

    /// What a new session needs to be placed: the key for the hashing algorithms.
    package struct SelectionKey: Equatable, Sendable {
        package var clientHost: String
        package var user: String?

        package init(clientHost: String, user: String?) {
            self.clientHost = clientHost
            self.user = user
        }
    }

    /// Why no server was chosen.
    package enum Refusal: String, Equatable, Sendable {
        /// No server is up and enabled (or every one was tried).
        case noServerUp = "no_server_up"
        /// Servers are up, but each is at its `max_sessions`.
        case serversFull = "servers_full"
        /// The user is mapped to a server that cannot take a session.
        case mappedServerUnavailable = "mapped_server_unavailable"
    }

    /// The result of `select`.
    package enum Selection: Equatable {
        case server(id: Int, configuration: ServerConfiguration)
        case refused(Refusal)
    }

    /// One health check's outcome and when it came.
    package struct CheckResult: Equatable, Sendable {
        package var passed: Bool
        package var detail: String
        package var at: NIODeadline
    }

    /// Settings an operator changed at run time; nil where the file's value holds.
    package struct AdminOverride: Equatable, Sendable {
        package var state: ServerAdminState?
        package var weight: Int?

        package var isEmpty: Bool { self.state == nil && self.weight == nil }
    }

    /// A run-time change an operator asks for.
    package enum AdminAction: Equatable, Sendable {
        case setState(ServerAdminState)
        /// 1 to 1000, as in the file; the caller checks the range.
        case setWeight(Int)
    }

    /// What an admin action changed, for the log and the answer.
    package struct AdminChange: Equatable, Sendable {
        package var server: String
        package var setting: String
        package var from: String
        package var to: String
    }

    /// A change of a server's health, for the log.
    package struct HealthChange: Equatable, Sendable {
        package var server: String
        package var health: Health
        package var reason: String
    }

    package internal(set) var members: [Member] = []
    package private(set) var algorithm: BalancingAlgorithm
    package private(set) var healthCheck: HealthCheckConfiguration
    package private(set) var userRouting: UserRoutingConfiguration
    private var nextID = 0
    private var turn = 0

    package init(configuration: VirtualServiceConfiguration) {
        self.algorithm = configuration.algorithm
        self.healthCheck = configuration.healthCheck
        self.userRouting = configuration.userRouting
        self.apply(configuration)
    }

    package var checksEnabled: Bool { self.healthCheck.kind != .none }

    package var activeMembers: [Member] { self.members.filter { !$0.retired } }

    // MARK: Reload

    /// Takes a new configuration: servers with the same name and address keep their state and
    /// their running sessions; removed ones are retired until their last session ends.
    /// The file wins over admin changes: they are dropped, and returned so that the caller can
    /// log each one the file replaced.
    @discardableResult
    package mutating func apply(_ configuration: VirtualServiceConfiguration) -> [AdminChange] {
        self.algorithm = configuration.algorithm
        self.healthCheck = configuration.healthCheck
        self.userRouting = configuration.userRouting
        var kept: [Member] = []
        var reverted: [AdminChange] = []
        var remaining = self.members
        for server in configuration.servers {
            if let index = remaining.firstIndex(where: {
                !$0.retired && $0.configuration.name == server.name && $0.configuration.address == server.address
            }) {
                var member = remaining.remove(at: index)
                if let state = member.adminOverride.state, state != server.state {
                    reverted.append(AdminChange(server: server.name, setting: "state", from: state.rawValue, to: server.state.rawValue))
                }
                if let weight = member.adminOverride.weight, weight != server.weight {
                    reverted.append(AdminChange(server: server.name, setting: "weight", from: "\(weight)", to: "\(server.weight)"))
                }
                member.adminOverride = AdminOverride()
                member.configuration = server
                member.file = server
                kept.append(member)
            } else {
                kept.append(Member(id: self.nextID, configuration: server))
                self.nextID += 1
            }
        }
        for var member in remaining where member.activeSessions > 0 {
            member.retired = true
            kept.append(member)
        }
        self.members = kept
        return reverted
    }

    // MARK: Choosing a server

    /// A server that can take a session now counts as up when checks are off.
    private func isUsable(_ member: Member) -> Bool {
        !member.retired && member.configuration.state == .enabled && (!self.checksEnabled || member.health == .up)
    }

    /// Picks the server for a new session and counts the session on it; `excluding` holds the
    /// servers this session already failed to reach.
    package mutating func select(for key: SelectionKey, excluding tried: Set<Int>) -> Selection {
        let usable = self.members.indices.filter { self.isUsable(self.members[$0]) && !tried.contains(self.members[$0].id) }
        // Backups only while no primary is up.
        let primaries = usable.filter { self.members[$0].isPrimary }
        let tier = primaries.isEmpty ? usable : primaries
        guard !tier.isEmpty else { return .refused(.noServerUp) }
        let withRoom = tier.filter { self.members[$0].hasRoom }

        let chosen: Int?
        if self.algorithm == .perUser, let user = key.user, let mapped = self.userRouting.users[user] {
            chosen = withRoom.first { self.members[$0].configuration.name == mapped }
            if chosen == nil { return .refused(.mappedServerUnavailable) }
        } else {
            guard !withRoom.isEmpty else { return .refused(.serversFull) }
            chosen = self.choose(among: withRoom, key: key)
        }
        guard let index = chosen else { return .refused(.noServerUp) }
        self.members[index].activeSessions += 1
        return .server(id: self.members[index].id, configuration: self.members[index].configuration)
    }

    /// The algorithm's choice among `candidates` (indices into `members`, never empty).
    private mutating func choose(among candidates: [Int], key: SelectionKey) -> Int {
        defer { self.turn = self.turn == Int.max ? 0 : self.turn + 1 }
        let rotation = self.turn % candidates.count
        // Ties go to the next server in turn rather than always to the first listed.
        let rotated = Array(candidates[rotation...] + candidates[..<rotation])
        switch self.algorithm {
        case .roundRobin:
            return rotated[0]
        case .weightedRoundRobin:
            return self.smoothWeightedChoice(among: candidates)
        case .leastConnections:
            return rotated.min { a, b in
                // active / weight, compared without division.
                self.members[a].activeSessions * self.weight(b) < self.members[b].activeSessions * self.weight(a)
            }!
        case .leastResponseTime:
            return rotated.min { a, b in self.responseScore(a) < self.responseScore(b) }!
        case .sourceIPHash:
            return self.highestRendezvousScore(among: candidates, key: Array(key.clientHost.utf8))
        case .perUser:
            return self.highestRendezvousScore(among: candidates, key: Array((key.user ?? key.clientHost).utf8))
        }
    }

    private func weight(_ index: Int) -> Int { max(self.members[index].configuration.weight, 1) }

    /// nginx's smooth weighted round robin: every candidate gains its weight, the highest is
    /// chosen and pays back the total, so 1:2:3 runs c b a c b c rather than a b b c c c.
    private mutating func smoothWeightedChoice(among candidates: [Int]) -> Int {
        var total = 0
        var best = candidates[0]
        for index in candidates {
            self.members[index].currentWeight += self.weight(index)
            total += self.weight(index)
            if self.members[index].currentWeight > self.members[best].currentWeight {
                best = index
            }
        }
        self.members[best].currentWeight -= total
        return best
    }

    /// Recent connect latency times the sessions it would share the server with, per weight. A
    /// server not yet measured scores 0, so it gets measured.
    private func responseScore(_ index: Int) -> Double {
        let member = self.members[index]
        return (member.connectLatency ?? 0) * Double(member.activeSessions + 1) / Double(self.weight(index))
    }

    private func highestRendezvousScore(among candidates: [Int], key: [UInt8]) -> Int {
        candidates.max { a, b in
            self.rendezvousScore(a, key: key) < self.rendezvousScore(b, key: key)
        }!
    }

    private func rendezvousScore(_ index: Int, key: [UInt8]) -> Double {
        RendezvousHash.score(key: key, server: self.members[index].configuration.name.utf8, weight: self.weight(index))
    }
}
