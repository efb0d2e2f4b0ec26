import NIOCore
import Testing

@testable import FTPBalancer

@Suite struct NodeReadinessTests {
    let now = NIODeadline.uptimeNanoseconds(100_000_000_000)
    let bound = ReadinessFacts.Listener(service: "ftp", listen: "10.0.0.1:21", bound: true)

    func facts(
        shuttingDown: Bool = false,
        listeners: [ReadinessFacts.Listener]? = nil,
        beats: [NIODeadline?]? = nil,
        turns: [NIODeadline?] = []
    ) -> ReadinessFacts {
        ReadinessFacts(
            shuttingDown: shuttingDown,
            listeners: listeners ?? [self.bound],
            eventLoopBeats: beats ?? [self.now - .milliseconds(200), self.now],
            relayThreadTurns: turns,
            now: self.now
        )
    }

    @Test func aNodeWithEveryListenerBoundAndEveryLoopBeatingIsReady() {
        let readiness = self.facts(turns: [self.now - .seconds(1)]).assess()
        #expect(readiness.isReady)
        #expect(readiness.reason == "every listener is bound and every event loop and relay thread is running")
    }

    @Test func shuttingDownIsNotReadyWhateverElseHolds() {
        #expect(self.facts(shuttingDown: true).assess() == NodeReadiness(problems: [.shuttingDown]))
        #expect(self.facts(shuttingDown: true).assess().reason == "shutting down")
    }

    @Test func anUnboundListenerNamesItsServiceAndAddress() {
        let unbound = ReadinessFacts.Listener(service: "second", listen: "10.0.0.2:21", bound: false)
        let readiness = self.facts(listeners: [self.bound, unbound]).assess()
        #expect(readiness.problems == [.notListening(service: "second", listen: "10.0.0.2:21")])
        #expect(readiness.reason == "virtual service 'second' is not listening on 10.0.0.2:21")
    }

    @Test func aLoopSilentBeyondTheLimitIsStalledAndOneWithinItIsNot() {
        let limit = ReadinessFacts.stallLimit
        #expect(self.facts(beats: [self.now - limit]).assess().isReady)
        let stalled = self.facts(beats: [self.now, self.now - limit - .milliseconds(1)]).assess()
        #expect(stalled.problems == [.eventLoopStalled(index: 1, silentFor: limit + .milliseconds(1))])
        #expect(stalled.reason == "event loop 1 has not answered for 3001 ms")
    }

    @Test func aRelayThreadThatStoppedOrNeverRanIsNotReady() {
        let readiness = self.facts(turns: [self.now, nil]).assess()
        #expect(readiness.problems == [.relayThreadStalled(index: 1, silentFor: nil)])
        #expect(readiness.reason == "splice relay thread 1 has not started")
    }

    @Test func theReasonIsTheFirstProblemAndCountsTheOthers() {
        let readiness = self.facts(shuttingDown: true, beats: [nil], turns: [nil]).assess()
        #expect(readiness.problems.count == 3)
        #expect(readiness.reason == "shutting down (and 2 more problems)")
    }
}
