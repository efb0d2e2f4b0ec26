import Testing

@testable import FTPBalancer

@Suite("What a shutdown says it waits for")
struct ShutdownNoticeTests {
    @Test("Transfers under way: how long at most, for how many, and how to stop now.")
    func transfers() {
        #expect(
            Balancer.shutdownNotice(grace: .seconds(30), sessions: 5, transfers: 2)
                == "shutting down: waiting up to 30s for 2 transfers (5 sessions); new connections get 421; "
                + "send SIGTERM or SIGINT again to stop now"
        )
        #expect(
            Balancer.shutdownNotice(grace: .milliseconds(1500), sessions: 1, transfers: 1)
                .hasPrefix("shutting down: waiting up to 1.5s for 1 transfer (1 session);")
        )
    }

    @Test("No transfer under way: nothing to wait for.")
    func idle() {
        #expect(
            Balancer.shutdownNotice(grace: .seconds(30), sessions: 3, transfers: 0)
                == "shutting down: no transfer under way; ending 3 sessions; new connections get 421"
        )
    }
}
