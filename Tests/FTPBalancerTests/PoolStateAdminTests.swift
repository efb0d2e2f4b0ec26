import FTPBalancerConfig
import NIOCore
import Testing

@testable import FTPBalancer

private func server(_ name: String, weight: Int = 1, state: ServerAdminState = .enabled) -> ServerConfiguration {
    let octet = Int(name.unicodeScalars.first!.value) % 200 + 1
    return ServerConfiguration(
        name: name,
        address: Endpoint(host: "192.0.2.\(octet)", port: 21),
        weight: weight,
        state: state
    )
}

private func service(
    _ servers: [ServerConfiguration],
    algorithm: BalancingAlgorithm = .roundRobin
) -> VirtualServiceConfiguration {
    VirtualServiceConfiguration(
        name: "test",
        listen: Endpoint(host: "127.0.0.1", port: 21),
        advertisedAddress: "127.0.0.1",
        passivePorts: 40000...40010,
        servers: servers,
        algorithm: algorithm
    )
}

private let anyClient = PoolState.SelectionKey(clientHost: "198.51.100.7", user: nil)

extension PoolState {
    fileprivate mutating func picks(_ count: Int) -> [String] {
        (0..<count).compactMap { _ in
            guard case .server(let id, let configuration) = self.select(for: anyClient, excluding: []) else {
                return nil
            }
            self.sessionEnded(id: id)
            return configuration.name
        }
    }

    fileprivate mutating func administer(_ name: String, _ action: AdminAction) -> AdminChange? {
        guard let member = self.member(named: name) else { return nil }
        return self.administer(id: member.id, action)
    }
}

@Suite struct PoolStateAdminTests {
    @Test func drainingAServerTakesItOutOfSelectionButKeepsItsSessions() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        guard case .server(let held, _) = pool.select(for: anyClient, excluding: []) else {
            Issue.record()
            return
        }
        let change = pool.administer("a", .setState(.draining))
        #expect(change == PoolState.AdminChange(server: "a", setting: "state", from: "enabled", to: "draining"))
        #expect(Set(pool.picks(4)) == ["b"])
        #expect(pool.member(named: "a")?.activeSessions == 1)
        pool.sessionEnded(id: held)
        #expect(pool.member(named: "a")?.activeSessions == 0)
    }

    @Test func aDisabledServerIsNoLongerCheckedAndEnablingItBringsItBack() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        _ = pool.administer("a", .setState(.disabled))
        #expect(pool.dueChecks(now: .uptimeNanoseconds(1)).map(\.configuration.name) == ["b"])
        #expect(Set(pool.picks(3)) == ["b"])
        _ = pool.administer("a", .setState(.enabled))
        #expect(Set(pool.picks(4)) == ["a", "b"])
    }

    @Test func aNewWeightChangesTheShareOfNewSessions() {
        var pool = PoolState(configuration: service([server("a"), server("b")], algorithm: .weightedRoundRobin))
        #expect(pool.administer("b", .setWeight(3)) == .init(server: "b", setting: "weight", from: "1", to: "3"))
        let picks = pool.picks(8)
        #expect(picks.filter { $0 == "b" }.count == 6)
        #expect(picks.filter { $0 == "a" }.count == 2)
    }

    @Test func anUnknownOrRetiredServerCannotBeChanged() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        #expect(pool.administer("zz", .setState(.disabled)) == nil)
        let a = pool.member(named: "a")!.id
        _ = pool.select(for: anyClient, excluding: [])  // a holds a session
        pool.apply(service([server("b")]))
        #expect(pool.member(named: "a") == nil)
        #expect(pool.administer(id: a, .setState(.enabled)) == nil)
    }

    @Test("An admin change back to the file's value ends the override instead of marking one.")
    func aChangeBackToTheFileIsNoOverride() {
        var pool = PoolState(configuration: service([server("a"), server("b", weight: 2)]))
        _ = pool.administer("a", .setState(.draining))
        _ = pool.administer("b", .setWeight(7))
        #expect(pool.member(named: "a")?.adminOverride == .init(state: .draining, weight: nil))
        #expect(pool.member(named: "b")?.adminOverride == .init(state: nil, weight: 7))
        _ = pool.administer("a", .setState(.enabled))
        _ = pool.administer("b", .setWeight(2))
        #expect(pool.member(named: "a")?.adminOverride.isEmpty == true)
        #expect(pool.member(named: "b")?.adminOverride.isEmpty == true)
        #expect(pool.member(named: "b")?.configuration.weight == 2)
        // After a reload, the file's new value is the one an admin change is measured against.
        pool.apply(service([server("a", state: .draining), server("b", weight: 3)]))
        _ = pool.administer("a", .setState(.draining))
        _ = pool.administer("b", .setWeight(2))
        #expect(pool.member(named: "a")?.adminOverride.isEmpty == true)
        #expect(pool.member(named: "b")?.adminOverride == .init(state: nil, weight: 2))
    }

    @Test func aReloadReplacesAdminChangesWithTheFileAndSaysWhich() {
        var pool = PoolState(configuration: service([server("a"), server("b", weight: 2)]))
        _ = pool.administer("a", .setState(.draining))
        _ = pool.administer("b", .setWeight(7))
        let reverted = pool.apply(service([server("a"), server("b", weight: 2)]))
        #expect(
            reverted == [
                .init(server: "a", setting: "state", from: "draining", to: "enabled"),
                .init(server: "b", setting: "weight", from: "7", to: "2"),
            ]
        )
        #expect(pool.member(named: "a")?.configuration.state == .enabled)
        #expect(pool.member(named: "b")?.configuration.weight == 2)
        #expect(pool.member(named: "a")?.adminOverride.isEmpty == true)
        // An admin change the file agrees with is not reported.
        _ = pool.administer("a", .setState(.enabled))
        #expect(pool.apply(service([server("a"), server("b", weight: 2)])).isEmpty)
    }

    @Test func theLastHealthCheckIsKeptWithItsTime() {
        var pool = PoolState(configuration: service([server("a")]))
        let id = pool.member(named: "a")!.id
        _ = pool.checkFinished(
            id: id,
            passed: false,
            detail: "connection refused",
            connectLatency: nil,
            now: .uptimeNanoseconds(42)
        )
        #expect(
            pool.member(named: "a")?.lastCheck
                == .init(passed: false, detail: "connection refused", at: .uptimeNanoseconds(42))
        )
    }

    @Test func aServersEndedDataConnectionsAddUpAndSurviveAReloadThatKeepsIt() {
        var pool = PoolState(configuration: service([server("a"), server("b")]))
        let a = pool.member(named: "a")!.id
        pool.dataConnectionEnded(id: a, bytesToClient: 1000, bytesToServer: 0)
        pool.dataConnectionEnded(id: a, bytesToClient: 500, bytesToServer: 20)
        pool.dataConnectionEnded(id: 999, bytesToClient: 7, bytesToServer: 7)
        _ = pool.apply(service([server("a", weight: 2), server("b")]))
        #expect(pool.member(named: "a")?.bytesToClient == 1500)
        #expect(pool.member(named: "a")?.bytesToServer == 20)
        #expect(pool.member(named: "b")?.bytesToClient == 0)
    }
}
