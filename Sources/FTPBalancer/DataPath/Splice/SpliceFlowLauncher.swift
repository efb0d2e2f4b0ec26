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
                metadata: ["ftp.error": "\(OperatorText.describe(error))"]
            )
            client.close(on: loop)
            server.close(on: loop)
            return
        }
        // As SwiftNIO does for its own sockets. Without TCP_NODELAY, the short segment a splice
        // ends with waits for the peer's acknowledgement of everything before it (Nagle), and
        // the pipe drains in stalls: in two of three A/B runs of the benchmark's downloads, the
        // median was 8% and 21% slower without it (the third showed no difference).
        for descriptor in [client.descriptor, server.descriptor] {
            try? SpliceSocket.setOption(descriptor, level: CInt(IPPROTO_TCP), name: CInt(TCP_NODELAY))
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

/// A spliced flow's addresses, taken when it starts, and its relay's counters. The addresses
/// are kept as the kernel gave them and put into text only when a snapshot reads them: a flow
/// starts for every transfer, and is seldom looked at.
final class SpliceFlowTransport: DataFlowTransport, Sendable {
    private let client: SpliceSocket.RawAddress?
    private let clientSideLocal: SpliceSocket.RawAddress?
    private let serverSideLocal: SpliceSocket.RawAddress?
    private let server: SpliceSocket.RawAddress?
    private let counters: SpliceRelayCounters
    private let descriptors: (client: CInt, server: CInt)
    private let acknowledged: (client: AcknowledgedBytes, server: AcknowledgedBytes)

    /// On the relay's thread, before the relay starts: the sockets are open and have sent nothing.
    init(client: CInt, server: CInt, counters: SpliceRelayCounters) {
        self.client = SpliceSocket.rawRemoteAddress(client)
        self.clientSideLocal = SpliceSocket.rawLocalAddress(client)
        self.serverSideLocal = SpliceSocket.rawLocalAddress(server)
        self.server = SpliceSocket.rawRemoteAddress(server)
        self.counters = counters
        self.descriptors = (client, server)
        self.acknowledged = (AcknowledgedBytes(AcknowledgedBytes.read(client)), AcknowledgedBytes(AcknowledgedBytes.read(server)))
    }

    var clientAddress: String { self.client?.address.logDescription ?? "?" }
    var clientSideLocalAddress: String { self.clientSideLocal?.address.logDescription ?? "?" }
    var serverSideLocalAddress: String { self.serverSideLocal?.address.logDescription ?? "?" }
    var serverAddress: String { self.server?.address.logDescription ?? "?" }

    var bytesToClient: Int { self.counters.toClient.load(ordering: .relaxed) }
    var bytesToServer: Int { self.counters.toServer.load(ordering: .relaxed) }

    var bytesDeliveredToClient: Int {
        let info = self.counters.socketsOpen.withLock { $0 ? AcknowledgedBytes.read(self.descriptors.client) : nil }
        return self.acknowledged.client.delivered(self.bytesToClient, now: info)
    }
    var bytesDeliveredToServer: Int {
        let info = self.counters.socketsOpen.withLock { $0 ? AcknowledgedBytes.read(self.descriptors.server) : nil }
        return self.acknowledged.server.delivered(self.bytesToServer, now: info)
    }
}
#endif
