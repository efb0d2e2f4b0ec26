import FTPBalancer
import FTPBalancerConfig
import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// The listening sockets an upgrade hands from one process to the next: how they are named in
/// the environment, taken instead of new ones, and kept from accepting until the predecessor
/// has stopped. Real sockets on loopback.
@Suite(.timeLimit(.minutes(1))) struct ListeningSocketsTests {
    @Test func theEnvironmentValueNamesEachSocketByWhatItServesAndReadsBackTheSame() {
        let sockets: [(key: String, descriptor: CInt)] = [
            (ListeningSockets.adminKey(Endpoint(host: "::1", port: 9021)), 4),
            (ListeningSockets.controlKey(Endpoint(host: "10.0.0.1", port: 21)), 3),
        ]
        let text = ListeningSockets.format(sockets)
        #expect(text == "4=admin [::1]:9021,3=control 10.0.0.1:21")
        #expect(ListeningSockets.parse(text) == ["admin [::1]:9021": 4, "control 10.0.0.1:21": 3])
    }

    @Test func entriesWithoutADescriptorNumberAboveStandardErrorAreLeftOut() {
        #expect(ListeningSockets.parse("x=control a,2=control b,,=c,7=control d") == ["control d": 7])
    }

    @Test func aHandedOverSocketIsTakenInsteadOfANewOneAndOneTheConfigurationDropsIsClosed() throws {
        let kept = try ListeningSocket.open(Endpoint(host: "127.0.0.1", port: 0), freebind: false, ipv6Only: false)
        let dropped = try ListeningSocket.open(Endpoint(host: "127.0.0.1", port: 0), freebind: false, ipv6Only: false)
        defer { close(kept) }
        let sockets = ListeningSockets(inherited: ["control kept": kept, "control dropped": dropped])
        sockets.keepInherited(only: ["control kept", "control new"])
        #expect(sockets.inheritedKeys == ["control kept"])
        #expect(fcntl(dropped, F_GETFD) == -1)

        var opened = 0
        let taken = try sockets.take("control kept") {
            opened += 1
            return -1
        }
        #expect(taken.descriptor == kept && taken.inherited)
        let fresh = try sockets.take("control new") {
            opened += 1
            return 99
        }
        #expect(fresh.descriptor == 99 && !fresh.inherited && opened == 1)
    }

    @Test func aSuccessorAcceptsOnlyOnceToldLosesNoQueuedConnectionAndStopsAcceptingAtTheHandOver() async throws {
        let descriptor = try ListeningSocket.open(
            Endpoint(host: "127.0.0.1", port: 0),
            freebind: false,
            ipv6Only: false
        )
        let sockets = ListeningSockets(inherited: ["control test": descriptor])
        let accepted = NIOLockedValueBox(0)
        try await withEventLoop { eventLoop in
            let taken = try sockets.take("control test") { -1 }
            let channel = try await ServerBootstrap(group: eventLoop)
                .serverChannelOption(.autoRead, value: false)
                .childChannelInitializer { child in
                    accepted.withLockedValue { $0 += 1 }
                    return child.eventLoop.makeSucceededVoidFuture()
                }
                .withBoundSocket(taken.descriptor).get()
            sockets.register("control test", descriptor: taken.descriptor, channel: channel)
            let port = try #require(channel.localAddress?.port)
            // The kernel completes the handshake; the connection waits in the accept queue.
            let client = try BlockingSocket.connect(to: port)
            try await Task.sleep(for: .milliseconds(200))
            #expect(accepted.withLockedValue { $0 } == 0)

            sockets.startAccepting()
            await sockets.untilAccepting()
            for _ in 0..<200 where accepted.withLockedValue({ $0 }) == 0 {
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(accepted.withLockedValue { $0 } == 1)
            #expect(sockets.handOverList.map(\.key) == ["control test"])
            await sockets.handOver()
            #expect(sockets.isHandedOver && sockets.handOverList.isEmpty)
            // Still open, so that children being set up live on, but accepting no more.
            let late = try BlockingSocket.connect(to: port)
            try await Task.sleep(for: .milliseconds(200))
            #expect(channel.isActive && accepted.withLockedValue { $0 } == 1)
            try await channel.close()
            _ = late
            _ = client
        }
    }
}
