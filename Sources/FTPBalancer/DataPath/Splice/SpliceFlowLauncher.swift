#if os(Linux)
import FTPDataPlane
import Logging
import Synchronization
import NIOCore

/// Starts the relay of a data flow once both its sockets are connected, and reports the flow
/// to its control session on the session's event loop: started now, ended when the relay ends.
struct SpliceFlowLauncher: Sendable {
    let pipeSizing: SplicePipeSizing

    /// The plane's pipe sizing, with its refusal said in the log once.
    init(pipeSize: Int, logger: Logger) {
        self.pipeSizing = SplicePipeSizing(requested: pipeSize) { error in
            logger.warning(
                "data_path.pipe_size refused by the kernel (above fs.pipe-max-size without CAP_SYS_RESOURCE?); using the default pipe size",
                metadata: ["ftp.pipe_size": "\(pipeSize)", "ftp.error": "\(OperatorText.describe(error))"]
            )
        }
    }

    /// Takes ownership of both sockets and their registrations. On the loop's thread.
    func launch(
        on loop: SpliceEventLoop,
        client: consuming SpliceSocketHandle,
        server: consuming SpliceSocketHandle,
        flow: NIOLoopBound<DataFlow>,
        idleTimeout: TimeAmount,
        logger: Logger
    ) {
        let eventLoop = flow.eventLoop
        do {
            try loop.relay(
                client: client,
                server: server,
                sizing: self.pipeSizing,
                idleTimeout: idleTimeout.duration,
                starting: { counters, addresses in
                    let transport = SpliceFlowTransport(addresses: addresses, counters: counters)
                    // Queued before anything the relay reports, so the session hears of the start first.
                    eventLoop.execute { flow.value.begin(transport) }
                },
                ended: { _ in
                    eventLoop.execute { flow.value.end() }
                }
            )
        } catch {
            logger.error(
                "could not make the pipes of a data connection; closing it",
                metadata: ["ftp.error": "\(OperatorText.describe(error))"]
            )
        }
    }
}

/// A spliced flow's addresses, taken when it starts, and its relay's counters. The addresses
/// are kept as the kernel gave them and put into text only when a snapshot reads them: a flow
/// starts for every transfer, and is seldom looked at.
final class SpliceFlowTransport: DataFlowTransport, Sendable {
    private let addresses: SpliceRelayAddresses
    private let counters: SpliceRelayCounters
    private let acknowledged: (client: AcknowledgedBytes, server: AcknowledgedBytes)

    /// On the relay's thread, before the relay starts: the sockets are open and have sent nothing.
    init(addresses: SpliceRelayAddresses, counters: SpliceRelayCounters) {
        self.addresses = addresses
        self.counters = counters
        self.acknowledged = (
            AcknowledgedBytes(counters.tcpInfo(ofClient: true)), AcknowledgedBytes(counters.tcpInfo(ofClient: false))
        )
    }

    var clientAddress: String { self.addresses.client?.socketAddress.logDescription ?? "?" }
    var clientSideLocalAddress: String { self.addresses.clientSideLocal?.socketAddress.logDescription ?? "?" }
    var serverSideLocalAddress: String { self.addresses.serverSideLocal?.socketAddress.logDescription ?? "?" }
    var serverAddress: String { self.addresses.server?.socketAddress.logDescription ?? "?" }

    var bytesToClient: Int { self.counters.toClient.load(ordering: .relaxed) }
    var bytesToServer: Int { self.counters.toServer.load(ordering: .relaxed) }

    var bytesDeliveredToClient: Int {
        self.acknowledged.client.delivered(self.bytesToClient, now: self.counters.tcpInfo(ofClient: true))
    }
    var bytesDeliveredToServer: Int {
        self.acknowledged.server.delivered(self.bytesToServer, now: self.counters.tcpInfo(ofClient: false))
    }
}
#endif
