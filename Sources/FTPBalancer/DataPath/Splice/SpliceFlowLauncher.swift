#if os(Linux)
import Glibc
import Logging
import NIOCore

/// Starts the relay of a data flow once both its sockets are connected, and reports the flow
/// to its control session on the session's event loop: started now, ended when the relay ends.
struct SpliceFlowLauncher: Sendable {
    let pipeSizing: SplicePipeSizing

    /// Takes ownership of both sockets and their registrations. On the loop's thread.
    func launch(
        on loop: SpliceEventLoop,
        client: SpliceSocketHandle,
        server: SpliceSocketHandle,
        flow: NIOLoopBound<DataFlow>,
        idleTimeout: TimeAmount,
        logger: Logger
    ) {
        let pipes: (SplicePipe, SplicePipe)
        do {
            let toServer = try loop.pipe(sizing: self.pipeSizing)
            do {
                pipes = (toServer, try loop.pipe(sizing: self.pipeSizing))
            } catch {
                loop.recycle(toServer, empty: true)
                throw error
            }
        } catch {
            logger.error(
                "could not make the pipes of a data connection; closing it",
                metadata: ["ftp.error": "\(error)"]
            )
            client.close(on: loop)
            server.close(on: loop)
            return
        }
        let counters = SpliceRelayCounters()
        let transport = SpliceFlowTransport(client: client.descriptor, server: server.descriptor, counters: counters)
        let eventLoop = flow.eventLoop
        let relay = SpliceRelay(
            loop: loop,
            client: client,
            server: server,
            pipes: pipes,
            idleTimeout: idleTimeout,
            counters: counters,
            onClosed: {
                eventLoop.execute { flow.value.end() }
            }
        )
        // Queued before anything the relay reports, so the session hears of the start first.
        eventLoop.execute { flow.value.begin(transport) }
        relay.start()
    }
}

/// A spliced flow's addresses, taken when it starts, and its relay's counters.
final class SpliceFlowTransport: DataFlowTransport, Sendable {
    let clientAddress: String
    let clientSideLocalAddress: String
    let serverSideLocalAddress: String
    let serverAddress: String
    private let counters: SpliceRelayCounters

    init(client: CInt, server: CInt, counters: SpliceRelayCounters) {
        self.clientAddress = SpliceSocket.remoteAddress(client).logDescription
        self.clientSideLocalAddress = SpliceSocket.localAddress(client).logDescription
        self.serverSideLocalAddress = SpliceSocket.localAddress(server).logDescription
        self.serverAddress = SpliceSocket.remoteAddress(server).logDescription
        self.counters = counters
    }

    var bytesToClient: Int { self.counters.toClient.load(ordering: .relaxed) }
    var bytesToServer: Int { self.counters.toServer.load(ordering: .relaxed) }
}
#endif
