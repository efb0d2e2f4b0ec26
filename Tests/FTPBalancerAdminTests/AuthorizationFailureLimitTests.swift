import NIOCore
import Testing

@testable import FTPBalancerAdmin

@Suite struct AuthorizationFailureLimitTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    static func at(_ seconds: Double) -> NIODeadline {
        Self.start + .nanoseconds(Int64(seconds * 1_000_000_000))
    }

    static func fail(_ limit: inout AuthorizationFailureLimit, _ address: String, times: Int, at seconds: Double) {
        for _ in 0..<times { limit.failed(address: address, now: Self.at(seconds)) }
    }

    @Test func anAddressWithoutFailuresIsAnswered() {
        var limit = AuthorizationFailureLimit(maximumFailures: 3, window: .seconds(60))
        #expect(limit.check(address: "192.0.2.7", now: Self.at(0)) == .proceed)
    }

    @Test func failuresBelowTheLimitStillGetAnAnswer() {
        var limit = AuthorizationFailureLimit(maximumFailures: 3, window: .seconds(60))
        Self.fail(&limit, "192.0.2.7", times: 2, at: 1)
        #expect(limit.check(address: "192.0.2.7", now: Self.at(2)) == .proceed)
    }

    @Test func atTheLimitTheAddressIsRefusedUntilTheWindowFromItsFirstFailureIsOver() {
        var limit = AuthorizationFailureLimit(maximumFailures: 3, window: .seconds(60))
        Self.fail(&limit, "192.0.2.7", times: 3, at: 10)
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(10)) == .limited(retryAfterSeconds: 60, firstRefusal: true)
        )
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(40.5))
                == .limited(retryAfterSeconds: 30, firstRefusal: false)
        )
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(69.9)) == .limited(retryAfterSeconds: 1, firstRefusal: false)
        )
        #expect(limit.check(address: "192.0.2.7", now: Self.at(70)) == .proceed)
    }

    @Test func onlyTheFirstRefusalOfAWindowIsMarkedForTheLog() {
        var limit = AuthorizationFailureLimit(maximumFailures: 1, window: .seconds(10))
        Self.fail(&limit, "192.0.2.7", times: 1, at: 0)
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(1)) == .limited(retryAfterSeconds: 9, firstRefusal: true)
        )
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(2)) == .limited(retryAfterSeconds: 8, firstRefusal: false)
        )
        // The next window's first refusal is logged again.
        Self.fail(&limit, "192.0.2.7", times: 1, at: 20)
        #expect(
            limit.check(address: "192.0.2.7", now: Self.at(21)) == .limited(retryAfterSeconds: 9, firstRefusal: true)
        )
    }

    @Test func failuresSpreadOverMoreThanAWindowNeverReachTheLimit() {
        var limit = AuthorizationFailureLimit(maximumFailures: 3, window: .seconds(60))
        Self.fail(&limit, "192.0.2.7", times: 2, at: 0)
        Self.fail(&limit, "192.0.2.7", times: 2, at: 61)
        #expect(limit.check(address: "192.0.2.7", now: Self.at(62)) == .proceed)
    }

    @Test func anotherAddressIsNotHeldBackByTheLimitedOne() {
        var limit = AuthorizationFailureLimit(maximumFailures: 2, window: .seconds(60))
        Self.fail(&limit, "192.0.2.7", times: 5, at: 0)
        #expect(limit.check(address: "192.0.2.8", now: Self.at(1)) == .proceed)
        #expect(limit.check(address: "192.0.2.7", now: Self.at(1)) != .proceed)
    }

    @Test func theTableOfAddressesStaysBoundedAndForgetsTheOldestFirst() {
        var limit = AuthorizationFailureLimit(maximumFailures: 2, window: .seconds(60), maximumAddresses: 3)
        Self.fail(&limit, "192.0.2.1", times: 2, at: 0)
        Self.fail(&limit, "192.0.2.2", times: 2, at: 1)
        Self.fail(&limit, "192.0.2.3", times: 2, at: 2)
        Self.fail(&limit, "192.0.2.4", times: 2, at: 3)
        #expect(limit.addressCount == 3)
        #expect(limit.check(address: "192.0.2.1", now: Self.at(4)) == .proceed)
        #expect(limit.check(address: "192.0.2.4", now: Self.at(4)) != .proceed)
    }

    @Test func windowsThatAreOverAreForgottenBeforeAnyRunningOne() {
        var limit = AuthorizationFailureLimit(maximumFailures: 2, window: .seconds(10), maximumAddresses: 2)
        Self.fail(&limit, "192.0.2.1", times: 2, at: 5)
        Self.fail(&limit, "192.0.2.2", times: 2, at: 0)
        Self.fail(&limit, "192.0.2.3", times: 2, at: 11)
        #expect(limit.check(address: "192.0.2.1", now: Self.at(12)) != .proceed)
        #expect(limit.check(address: "192.0.2.3", now: Self.at(12)) != .proceed)
    }
}
