import FTPBalancer
// Not a declared dependency of this test target; ServerConfiguration comes from it, and SwiftPM
// builds it for FTPBalancer.
import FTPBalancerConfig
import NIOCore
import NIOPosix
import Testing

private func pool(_ names: [String]) -> ServerPool {
    ServerPool(
        servers: names.enumerated().map { index, name in
            ServerConfiguration(name: name, address: Endpoint(host: "192.0.2.\(index + 1)", port: 21))
        }
    )
}

private func names(_ servers: [ServerConfiguration]) -> [String] {
    servers.map(\.name)
}

@Suite struct ServerPoolTests {
    @Test func eachCallStartsOneServerFurtherOnAndWrapsAround() {
        let pool = pool(["a", "b", "c"])
        #expect(names(pool.candidates()) == ["a", "b", "c"])
        #expect(names(pool.candidates()) == ["b", "c", "a"])
        #expect(names(pool.candidates()) == ["c", "a", "b"])
        #expect(names(pool.candidates()) == ["a", "b", "c"])
    }

    @Test func everyCallListsEveryServerExactlyOnce() {
        let pool = pool(["a", "b", "c", "d", "e"])
        for _ in 0..<12 {
            let candidates = pool.candidates()
            #expect(candidates.count == 5)
            #expect(names(candidates).sorted() == ["a", "b", "c", "d", "e"])
        }
    }

    @Test func aPoolOfOneServerAlwaysOffersThatServer() {
        let pool = pool(["only"])
        for _ in 0..<3 {
            #expect(names(pool.candidates()) == ["only"])
        }
    }

    @Test func overNCallsEachServerComesFirstNDividedByTheNumberOfServersTimes() {
        let pool = pool(["a", "b", "c", "d"])
        var firsts: [String: Int] = [:]
        for _ in 0..<400 {
            firsts[pool.candidates()[0].name, default: 0] += 1
        }
        #expect(firsts == ["a": 100, "b": 100, "c": 100, "d": 100])
    }

    @Test func callsFromSeveralThreadsStillShareTheFirstPlaceEvenly() async throws {
        let pool = pool(["a", "b", "c"])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)
        do {
            let workers = (0..<6).map { _ in
                group.next().submit {
                    (0..<500).map { _ in pool.candidates()[0].name }
                }
            }
            var firsts: [String: Int] = [:]
            for worker in workers {
                for name in try await worker.get() {
                    firsts[name, default: 0] += 1
                }
            }
            #expect(firsts == ["a": 1000, "b": 1000, "c": 1000])
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
