#if os(Linux)
import Glibc

/// The four addresses of a relayed connection, as the kernel gave them when the relay started.
package struct SpliceRelayAddresses: Sendable {
    package var client: SpliceAddress?
    package var clientSideLocal: SpliceAddress?
    package var serverSideLocal: SpliceAddress?
    package var server: SpliceAddress?
}

/// A relay's two pipes.
struct SplicePipePair: ~Copyable {
    var toServer: SplicePipe
    var toClient: SplicePipe
}

extension SpliceEventLoop {
    /// Both pipes of a relay, or neither.
    func pipePair(sizing: SplicePipeSizing) throws(SystemCallError) -> SplicePipePair {
        let toServer = try self.pipe(sizing: sizing)
        do throws(SystemCallError) {
            let toClient = try self.pipe(sizing: sizing)
            return SplicePipePair(toServer: toServer, toClient: toClient)
        } catch {
            self.recycle(toServer, empty: true)
            throw error
        }
    }

    /// Relays bytes between two connected sockets on this loop, with pipes from its pool. Before
    /// the relay moves a byte, `starting` gets its counters and addresses (and the sockets'
    /// TCP_INFO is still their baseline); `ended` hears what it moved once it closed both. When
    /// no pipes can be had, both sockets are closed and the error thrown. On the loop's thread.
    package func relay(
        client: consuming SpliceSocketHandle,
        server: consuming SpliceSocketHandle,
        sizing: SplicePipeSizing,
        idleTimeout: Duration,
        starting: (SpliceRelayCounters, SpliceRelayAddresses) -> Void,
        ended: @escaping (SpliceRelayEnd) -> Void
    ) throws(SystemCallError) {
        let pipes: SplicePipePair
        do throws(SystemCallError) {
            pipes = try self.pipePair(sizing: sizing)
        } catch {
            client.close(on: self)
            server.close(on: self)
            throw error
        }
        let (clientRaw, serverRaw) = (client.descriptor.raw, server.descriptor.raw)
        // As SwiftNIO does for its own sockets. Without TCP_NODELAY, the short segment a splice
        // ends with waits for the peer's acknowledgement of everything before it (Nagle), and
        // the pipe drains in stalls: in two of three A/B runs of the benchmark's downloads, the
        // median was 8% and 21% slower without it (the third showed no difference).
        try? SpliceSocket.setOption(client.descriptor, level: CInt(IPPROTO_TCP), name: CInt(TCP_NODELAY))
        try? SpliceSocket.setOption(server.descriptor, level: CInt(IPPROTO_TCP), name: CInt(TCP_NODELAY))
        let counters = SpliceRelayCounters(client: clientRaw, server: serverRaw)
        starting(
            counters,
            SpliceRelayAddresses(
                client: SpliceSocket.remoteAddress(clientRaw),
                clientSideLocal: SpliceSocket.localAddress(clientRaw),
                serverSideLocal: SpliceSocket.localAddress(serverRaw),
                server: SpliceSocket.remoteAddress(serverRaw)
            )
        )
        let relay = SpliceRelay(
            loop: self,
            client: client,
            server: server,
            toServer: pipes.toServer,
            toClient: pipes.toClient,
            idleTimeout: idleTimeout,
            counters: counters,
            onClosed: ended
        )
        relay.start()
    }
}
#endif
