import NIOCore
import Testing

@testable import FTPBalancer

@Suite("The descriptor reserve")
struct DescriptorReserveTests {
    static let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test("Far from the limit a session is admitted without counting descriptors.")
    func farFromTheLimitNothingIsCounted() {
        let reserve = DescriptorReserve(limit: 65536) { Issue.record("counted"); return nil }
        #expect(reserve.reserve == 256)
        #expect(reserve.admitsSession(running: 1000, now: Self.now))
    }

    @Test("Near the limit sessions are admitted while the count, two per session since, leaves the reserve free.")
    func nearTheLimitTheReserveStaysFree() {
        // 64 descriptors, a reserve of 16, 42 open: room for four sessions of two.
        let reserve = DescriptorReserve(limit: 64) { 42 }
        #expect(reserve.reserve == 16)
        #expect((0..<4).map { _ in reserve.admitsSession(running: 10, now: Self.now) } == [true, true, true, true])
        #expect(!reserve.admitsSession(running: 14, now: Self.now))
        // Counted again after the interval: descriptors freed meanwhile let sessions in.
        #expect(reserve.admitsSession(running: 14, now: Self.now + DescriptorReserve.countInterval))
    }

    @Test("The count of this process's descriptors reads /proc/self/fd: at least standard input, output and error.")
    func countingSeesAnOpenDescriptor() throws {
        let count = try #require(DescriptorReserve.countOpenDescriptors())
        #expect(count >= 3)
    }
}
