import FTPBalancer
import NIOCore
import NIOPosix
import Testing

@Suite struct PassivePortAllocatorTests {
    @Test func everyPortOfTheRangeIsHandedOutOnceAndThenNil() {
        let allocator = PassivePortAllocator(range: 50000...50009)
        var ports: [Int] = []
        while let port = allocator.allocate() {
            ports.append(port)
            #expect(ports.count <= 10)
        }
        #expect(ports.sorted() == Array(50000...50009))
        #expect(allocator.inUseCount == 10)
        #expect(allocator.allocate() == nil)
    }

    @Test func aRangeOfOnePortHandsThatPortOutUntilItIsReleased() {
        let allocator = PassivePortAllocator(range: 50000...50000)
        #expect(allocator.allocate() == 50000)
        #expect(allocator.allocate() == nil)
        allocator.release(50000)
        #expect(allocator.allocate() == 50000)
    }

    @Test func aReleasedPortCanBeAllocatedAgain() {
        let allocator = PassivePortAllocator(range: 50000...50004)
        for _ in 0..<5 {
            _ = allocator.allocate()
        }
        allocator.release(50003)
        #expect(allocator.inUseCount == 4)
        #expect(allocator.allocate() == 50003)
        #expect(allocator.allocate() == nil)
    }

    @Test func portsAreTakenInTurnSoAJustReleasedPortIsNotTheNextOneHandedOut() {
        let allocator = PassivePortAllocator(range: 50000...50004)
        #expect(allocator.allocate() == 50000)
        #expect(allocator.allocate() == 50001)
        allocator.release(50000)
        #expect(allocator.allocate() == 50002)
        #expect(allocator.allocate() == 50003)
        #expect(allocator.allocate() == 50004)
        // Only after the turn comes round again.
        #expect(allocator.allocate() == 50000)
        #expect(allocator.allocate() == nil)
    }

    @Test func theTurnSkipsPortsStillInUse() {
        let allocator = PassivePortAllocator(range: 50000...50003)
        for _ in 0..<4 {
            _ = allocator.allocate()
        }
        allocator.release(50002)
        allocator.release(50000)
        #expect(allocator.allocate() == 50000)
        #expect(allocator.allocate() == 50002)
        #expect(allocator.allocate() == nil)
    }

    @Test func releasingAPortThatIsNotInUseChangesNothing() {
        let allocator = PassivePortAllocator(range: 50000...50001)
        #expect(allocator.allocate() == 50000)
        allocator.release(50001)
        allocator.release(60000)
        #expect(allocator.inUseCount == 1)
        #expect(allocator.allocate() == 50001)
        #expect(allocator.allocate() == nil)
    }

    @Test func concurrentAllocationFromSeveralThreadsHandsOutNoPortTwice() async throws {
        let allocator = PassivePortAllocator(range: 40000...41999)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)
        do {
            let workers = (0..<8).map { _ in
                group.next().submit {
                    var ports: [Int] = []
                    var released = 0
                    while let port = allocator.allocate() {
                        // Give some back at first, so that releases contend with allocations.
                        if released < 100, port % 2 == 0 {
                            allocator.release(port)
                            released += 1
                        } else {
                            ports.append(port)
                        }
                    }
                    return ports
                }
            }
            var all: [Int] = []
            for worker in workers {
                all += try await worker.get()
            }
            #expect(all.count == 2000)
            #expect(Set(all).count == 2000)
            #expect(allocator.inUseCount == 2000)
        } catch {
            try await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}

@Suite struct PassivePortAllocatorExpectationTests {
    let start = NIODeadline.uptimeNanoseconds(10_000_000_000)

    @Test func aHeldPortExpectsAnyClientAndAPortNeverHandedOutNone() {
        let allocator = PassivePortAllocator(range: 50000...50009)
        let port = allocator.allocate(for: "192.0.2.7")!
        #expect(allocator.expects(port, from: "192.0.2.7", now: self.start))
        #expect(allocator.expects(port, from: "192.0.2.8", now: self.start))
        #expect(!allocator.expects(port + 1, from: "192.0.2.7", now: self.start))
    }

    @Test func aReleasedPortExpectsOnlyItsOwnClientAndOnlyWithinTheGrace() {
        let allocator = PassivePortAllocator(range: 50000...50009)
        let port = allocator.allocate(for: "192.0.2.7")!
        allocator.release(port, now: self.start)
        #expect(allocator.expects(port, from: "192.0.2.7", now: self.start + .milliseconds(1999)))
        #expect(!allocator.expects(port, from: "192.0.2.8", now: self.start + .milliseconds(1)))
        #expect(!allocator.expects(port, from: "192.0.2.7", now: self.start + .seconds(2)))
    }
}
