import FTPBalancer
import FTPBalancerConfig
import NIOCore
import Testing

private func server(_ name: String, weight: Int = 1, max: Int? = nil, backup: Bool = false, state: ServerAdminState = .enabled)
    -> ServerConfiguration
{
    let octet = Int(name.unicodeScalars.first!.value) % 200 + 1
    return ServerConfiguration(
        name: name,
        address: Endpoint(host: "192.0.2.\(octet)", port: 21),
        weight: weight,
        maxSessions: max,
        backup: backup,
        state: state
    )
}

private func service(
    _ servers: [ServerConfiguration],
    algorithm: BalancingAlgorithm = .roundRobin,
    checks: HealthCheckKind = .ftp,
    users: [String: String] = [:]
) -> VirtualServiceConfiguration {
    var health = HealthCheckConfiguration()
    health.kind = checks
    health.rise = 2
    health.fall = 3
    return VirtualServiceConfiguration(
        name: "test",
        listen: Endpoint(host: "127.0.0.1", port: 21),
        advertisedAddress: "127.0.0.1",
        passivePorts: 40000...40010,
        servers: servers,
        algorithm: algorithm,
        userRouting: UserRoutingConfiguration(users: users),
        healthCheck: health
    )
}

private let anyClient = PoolState.SelectionKey(clientHost: "198.51.100.7", user: nil)

extension PoolState {
    /// Selects and, as a finished session would, gives the server back; returns its name.
    mutating func pickAndRelease(_ key: SelectionKey = anyClient, excluding tried: Set<Int> = []) -> String? {
        guard case .server(let id, let configuration) = self.select(for: key, excluding: tried) else { return nil }
        self.sessionEnded(id: id)
        return configuration.name
    }

    mutating func pickAndKeep(_ key: SelectionKey = anyClient) -> String? {
        guard case .server(_, let configuration) = self.select(for: key, excluding: []) else { return nil }
        return configuration.name
    }

    func id(of name: String) -> Int { self.members.first { $0.configuration.name == name }!.id }

    mutating func fail(_ name: String, times: Int) -> [HealthChange] {
        (0..<times).compactMap { _ in
            self.checkFinished(id: self.id(of: name), passed: false, detail: "refused", connectLatency: nil, now: .uptimeNanoseconds(1))
        }
    }

    mutating func pass(_ name: String, times: Int) -> [HealthChange] {
        (0..<times).compactMap { _ in
            self.checkFinished(id: self.id(of: name), passed: true, detail: "ok", connectLatency: nil, now: .uptimeNanoseconds(1))
        }
    }
}

@Suite struct PoolStateTests {
    @Test func roundRobinGivesEachServerItsTurn() {
        var pool = PoolState(configuration: service([server("a"), server("b"), server("c")]))
        let picks = (0..<6).map { _ in pool.pickAndRelease()! }
        #expect(picks == ["a", "b", "c", "a", "b", "c"])
    }

    @Test func smoothWeightedRoundRobinInterleavesWeightsOneTwoThree() {
        var pool = PoolState(
            configuration: service([server("a", weight: 1), server("b", weight: 2), server("c", weight: 3)], algorithm: .weightedRoundRobin)
        )
        let picks = (0..<6).map { _ in pool.pickAndRelease()! }
        #expect(picks == ["c", "b", "a", "c", "b", "c"])
        var counts: [String: Int] = [:]
        for _ in 0..<600 { counts[pool.pickAndRelease()!, default: 0] += 1 }
        #expect(counts == ["a": 100, "b": 200, "c": 300])
    }

    @Test func leastConnectionsDividesRunningSessionsByWeight() {
        var pool = PoolState(configuration: service([server("a", weight: 1), server("b", weight: 3)], algorithm: .leastConnections))
        var counts: [String: Int] = [:]
        for _ in 0..<8 { counts[pool.pickAndKeep()!, default: 0] += 1 }
        #expect(counts == ["a": 2, "b": 6])
    }

    @Test func leastConnectionsSendsTheNextSessionToTheServerThatFreedUp() {
        var pool = PoolState(configuration: service([server("a"), server("b")], algorithm: .leastConnections))
        _ = pool.pickAndKeep()
        _ = pool.pickAndKeep()
        pool.sessionEnded(id: pool.id(of: "b"))
        #expect(pool.pickAndKeep() == "b")
    }

    @Test func sourceIPHashKeepsEachClientOnOneServer() {
        var pool = PoolState(configuration: service([server("a"), server("b"), server("c")], algorithm: .sourceIPHash))
        for host in (1...50).map({ "10.1.0.\($0)" }) {
            let key = PoolState.SelectionKey(clientHost: host, user: nil)
            let first = pool.pickAndRelease(key)
            for _ in 0..<5 { #expect(pool.pickAndRelease(key) == first) }
        }
    }

    @Test func sourceIPHashMovesAboutOneInNClientsWhenAServerIsAdded() {
        let four = [server("a"), server("b"), server("c"), server("d")]
        var before = PoolState(configuration: service(four, algorithm: .sourceIPHash))
        var after = PoolState(configuration: service(four + [server("e")], algorithm: .sourceIPHash))
        let keys = (0..<2000).map { PoolState.SelectionKey(clientHost: "10.\($0 / 250).\($0 % 250).1", user: nil) }
        var moved = 0
        for key in keys {
            let old = before.pickAndRelease(key)!
            let new = after.pickAndRelease(key)!
            if old != new {
                moved += 1
                // A client that moves only ever moves to the new server.
                #expect(new == "e")
            }
        }
        // 1/5 expected.
        #expect((300...500).contains(moved), "moved \(moved) of 2000")
    }

    @Test func sourceIPHashMovesOnlyTheClientsOfAServerThatGoesDown() {
        var pool = PoolState(configuration: service([server("a"), server("b"), server("c")], algorithm: .sourceIPHash))
        let keys = (0..<300).map { PoolState.SelectionKey(clientHost: "10.2.\($0 / 250).\($0 % 250)", user: nil) }
        let before = keys.map { pool.pickAndRelease($0)! }
        _ = pool.fail("b", times: 3)
        let after = keys.map { pool.pickAndRelease($0)! }
        for (old, new) in zip(before, after) where old != "b" {
            #expect(old == new)
        }
        #expect(!after.contains("b"))
    }

    @Test func sourceIPHashSharesClientsByWeight() {
        var pool = PoolState(configuration: service([server("a", weight: 1), server("b", weight: 3)], algorithm: .sourceIPHash))
        var counts: [String: Int] = [:]
        for index in 0..<4000 {
            counts[pool.pickAndRelease(PoolState.SelectionKey(clientHost: "10.3.\(index / 250).\(index % 250)", user: nil))!, default: 0] += 1
        }
        #expect((800...1200).contains(counts["a"] ?? 0), "\(counts)")
    }

    @Test func perUserSendsAMappedUserToItsServerAndHashesTheRest() {
        var pool = PoolState(configuration: service([server("a"), server("b"), server("c")], algorithm: .perUser, users: ["alice": "c"]))
        for _ in 0..<5 {
            #expect(pool.pickAndRelease(PoolState.SelectionKey(clientHost: "10.0.0.\(Int.random(in: 1...9))", user: "alice")) == "c")
        }
        let bob = pool.pickAndRelease(PoolState.SelectionKey(clientHost: "10.0.0.1", user: "bob"))
        for host in ["10.0.0.2", "10.0.0.3", "10.9.9.9"] {
            #expect(pool.pickAndRelease(PoolState.SelectionKey(clientHost: host, user: "bob")) == bob)
        }
    }

    @Test func aUserMappedToAServerThatIsDownIsRefusedRatherThanMoved() {
        var pool = PoolState(configuration: service([server("a"), server("b")], algorithm: .perUser, users: ["alice": "b"]))
        _ = pool.fail("b", times: 3)
        #expect(pool.select(for: PoolState.SelectionKey(clientHost: "10.0.0.1", user: "alice"), excluding: []) == .refused(.mappedServerUnavailable))
    }

    @Test func backupsTakeSessionsOnlyWhileNoPrimaryIsUp() {
        var pool = PoolState(configuration: service([server("a"), server("b"), server("z", backup: true)]))
        #expect(Set((0..<4).map { _ in pool.pickAndRelease()! }) == ["a", "b"])
        _ = pool.fail("a", times: 3)
        _ = pool.fail("b", times: 3)
        #expect(pool.pickAndRelease() == "z")
        _ = pool.pass("a", times: 2)
        #expect(pool.pickAndRelease() == "a")
    }

    @Test func aServerAtItsSessionLimitTakesNoMore() {
        var pool = PoolState(configuration: service([server("a", max: 1), server("b", max: 1)]))
        #expect(pool.pickAndKeep() == "a")
        #expect(pool.pickAndKeep() == "b")
        #expect(pool.select(for: anyClient, excluding: []) == .refused(.serversFull))
        pool.sessionEnded(id: pool.id(of: "a"))
        #expect(pool.pickAndKeep() == "a")
    }

    @Test func drainingAndDisabledServersGetNoNewSessions() {
        var pool = PoolState(configuration: service([server("a", state: .draining), server("b"), server("c", state: .disabled)]))
        #expect(Set((0..<6).map { _ in pool.pickAndRelease()! }) == ["b"])
    }

    @Test func drainingServersAreStillCheckedAndDisabledOnesAreNot() {
        var pool = PoolState(configuration: service([server("a", state: .draining), server("b"), server("c", state: .disabled)]))
        let due = pool.dueChecks(now: .now()).map(\.configuration.name)
        #expect(due == ["a", "b"])
        // A check still running is not started twice.
        #expect(pool.dueChecks(now: .now() + .seconds(60)).isEmpty)
    }

    @Test func aServerGoesDownAfterFallFailedChecksAndUpAfterRisePassedOnes() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        #expect(pool.fail("a", times: 2).isEmpty)
        #expect(pool.fail("a", times: 1).map(\.health) == [.down])
        #expect(Set((0..<4).map { _ in pool.pickAndRelease()! }) == ["b"])
        #expect(pool.pass("a", times: 1).isEmpty)
        #expect(pool.pass("a", times: 1).map(\.health) == [.up])
    }

    @Test func aPassedCheckBetweenFailuresStartsTheCountAgain() {
        var pool = PoolState(configuration: service([server("a")]))
        _ = pool.fail("a", times: 2)
        _ = pool.pass("a", times: 1)
        #expect(pool.fail("a", times: 2).isEmpty)
    }

    @Test func failedConnectsOfRealSessionsTakeAServerDownBeforeTheNextCheck() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        var changes: [PoolState.HealthChange] = []
        for _ in 0..<3 {
            guard case .server(let id, _) = pool.select(for: anyClient, excluding: [pool.id(of: "b")]) else {
                Issue.record("a was not offered")
                return
            }
            changes += [pool.sessionConnectFailed(id: id, reason: "refused")].compactMap { $0 }
        }
        #expect(changes.map(\.server) == ["a"])
        #expect(pool.members.first { $0.configuration.name == "a" }?.activeSessions == 0)
    }

    @Test func withChecksOffFailedConnectsNeverTakeAServerDown() {
        var pool = PoolState(configuration: service([server("a")], checks: .none))
        for _ in 0..<5 {
            #expect(pool.sessionConnectFailed(id: pool.id(of: "a"), reason: "refused") == nil)
        }
        #expect(pool.pickAndRelease() == "a")
        #expect(pool.dueChecks(now: .now()).isEmpty)
    }

    @Test func aSessionNeverGetsAServerItAlreadyTried() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        let a = pool.id(of: "a")
        let b = pool.id(of: "b")
        #expect(pool.pickAndRelease(excluding: [a]) == "b")
        #expect(pool.select(for: anyClient, excluding: [a, b]) == .refused(.noServerUp))
    }

    @Test func leastResponseTimePrefersTheServerThatConnectsFaster() {
        var pool = PoolState(configuration: service([server("a"), server("b")], algorithm: .leastResponseTime))
        pool.sessionConnected(id: pool.id(of: "a"), latency: .milliseconds(40))
        pool.sessionConnected(id: pool.id(of: "b"), latency: .milliseconds(2))
        #expect((0..<5).map { _ in pool.pickAndRelease()! } == ["b", "b", "b", "b", "b"])
    }

    @Test func aReloadKeepsTheStateOfServersWhoseNameAndAddressStay() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        _ = pool.pickAndKeep()
        _ = pool.fail("b", times: 3)
        pool.apply(service([server("b"), server("a", weight: 5), server("c")]))
        let members = Dictionary(uniqueKeysWithValues: pool.members.map { ($0.configuration.name, $0) })
        #expect(members["a"]?.activeSessions == 1)
        #expect(members["a"]?.configuration.weight == 5)
        #expect(members["b"]?.health == .down)
        #expect(members["c"]?.health == .up)
    }

    @Test func aServerRemovedByAReloadStaysCountedUntilItsLastSessionEnds() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        #expect(pool.pickAndKeep() == "a")
        let a = pool.id(of: "a")
        pool.apply(service([server("b")]))
        #expect(pool.activeMembers.map(\.configuration.name) == ["b"])
        #expect(Set((0..<3).map { _ in pool.pickAndRelease()! }) == ["b"])
        pool.sessionEnded(id: a)
        #expect(pool.members.map(\.configuration.name) == ["b"])
    }
}
