import NIOCore
import Testing

@testable import FTPBalancer

#if canImport(Glibc)
import Glibc
#endif

@Suite("Which passive port to bind next, and when to give up")
struct PassivePortBindingTests {
    static let busy = IOError(errnoCode: EADDRINUSE, reason: "bind")

    static func full(_ size: Int) -> PassivePortBinding.Step {
        .fail(DataPathError(code: .passivePortsExhausted, detail: "all \(size) passive ports are in use"))
    }

    /// An allocator's answers, one per call, and how many calls were made.
    final class Ports {
        var answers: [Int?]
        var calls = 0
        init(_ answers: [Int?]) { self.answers = answers }
        func allocate() -> Int? {
            self.calls += 1
            return self.answers.isEmpty ? nil : self.answers.removeFirst()
        }
    }

    @Test("The first port the allocator gives is bound.")
    func theAllocatorsPortIsBound() {
        var binding = PassivePortBinding(host: "127.0.0.1", rangeCount: 10)
        let ports = Ports([30000])
        #expect(binding.next(allocate: ports.allocate) == .bind(port: 30000))
    }

    @Test("A full range fails at once with the range's size, before any bind.")
    func aFullRangeFailsAtOnce() {
        var binding = PassivePortBinding(host: "127.0.0.1", rangeCount: 10)
        let ports = Ports([])
        #expect(binding.next(allocate: ports.allocate) == Self.full(10))
    }

    @Test("A busy port is given up for the allocator's next one.")
    func aBusyPortLeadsToTheNextOne() {
        var binding = PassivePortBinding(host: "127.0.0.1", rangeCount: 10)
        let ports = Ports([30000, 30001])
        #expect(binding.next(allocate: ports.allocate) == .bind(port: 30000))
        #expect(binding.bindFailed(port: 30000, error: Self.busy) == true)
        #expect(binding.next(allocate: ports.allocate) == .bind(port: 30001))
    }

    @Test("The range filling up between attempts fails as a full range, not as the last bind error.")
    func theRangeFillingUpFailsAsFull() {
        var binding = PassivePortBinding(host: "127.0.0.1", rangeCount: 2)
        let ports = Ports([30000])
        #expect(binding.next(allocate: ports.allocate) == .bind(port: 30000))
        #expect(binding.bindFailed(port: 30000, error: Self.busy) == true)
        #expect(binding.next(allocate: ports.allocate) == Self.full(2))
    }

    @Test("After 16 ports that cannot be bound it gives up with the last one's error, taking no 17th port.")
    func sixteenFailuresGiveUpWithTheLastError() {
        var binding = PassivePortBinding(host: "127.0.0.1", rangeCount: 100)
        let ports = Ports(Array(30000..<30100))
        for port in 30000..<30015 {
            #expect(binding.next(allocate: ports.allocate) == .bind(port: port))
            #expect(binding.bindFailed(port: port, error: Self.busy) == true)
        }
        #expect(binding.next(allocate: ports.allocate) == .bind(port: 30015))
        #expect(binding.bindFailed(port: 30015, error: Self.busy) == false)
        let expected = DataPathError(
            code: .bindFailed,
            detail: "address 127.0.0.1:30015 is already in use (another ftplb or FTP server?)"
        )
        #expect(binding.next(allocate: ports.allocate) == .fail(expected))
        #expect(binding.next(allocate: ports.allocate) == .fail(expected))
        #expect(ports.calls == PassivePortBinding.attempts)
    }

    @Test("Any bind error counts as a busy port, and the final error names the address in operator words.")
    func anyErrorIsRetriedAndReportedInOperatorWords() {
        var binding = PassivePortBinding(host: "2001:db8::1", rangeCount: 100)
        let ports = Ports(Array(30000..<30100))
        let notHere = IOError(errnoCode: EADDRNOTAVAIL, reason: "bind")
        for _ in 0..<PassivePortBinding.attempts {
            guard case .bind(let port) = binding.next(allocate: ports.allocate) else {
                Issue.record("gave up early")
                return
            }
            _ = binding.bindFailed(port: port, error: notHere)
        }
        #expect(
            binding.next(allocate: ports.allocate)
                == .fail(
                    DataPathError(
                        code: .bindFailed,
                        detail: "address [2001:db8::1]:30015 is not an address of this host"
                    )
                )
        )
    }
}
