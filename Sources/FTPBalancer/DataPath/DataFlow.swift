import NIOCore

/// What a data path shows of a relay in progress: both connections' addresses and the bytes
/// moved so far. Read on the session's event loop, from the relay's own counters.
package protocol DataFlowTransport: AnyObject {
    /// The client's address, and the balancer's on the client side.
    var clientAddress: String { get }
    var clientSideLocalAddress: String { get }
    /// The balancer's address on the server side, and the server's.
    var serverSideLocalAddress: String { get }
    var serverAddress: String { get }
    /// Bytes read from one side so far, for the report at the end.
    var bytesToClient: Int { get }
    var bytesToServer: Int { get }
    /// Of those, what the receiving side has acknowledged: what live figures show.
    var bytesDeliveredToClient: Int { get }
    var bytesDeliveredToServer: Int { get }
}

/// One data connection through the balancer, as its control session sees it: started once both
/// sides are connected, ended once both have closed, whichever data path relays it. Lives on the
/// session's event loop; data paths report to it there.
package final class DataFlow {
    package let mode: DataConnectionMode
    private weak var observer: (any DataFlowObserver)?
    private var started: NIODeadline?
    private var transport: (any DataFlowTransport)?
    /// `PROT P`: what the client side's handshake agreed on.
    var clientTLS: TLSNegotiation?

    init(mode: DataConnectionMode, observer: any DataFlowObserver) {
        self.mode = mode
        self.observer = observer
    }

    /// Both sides are connected and bytes may move: tell the session.
    func begin(_ transport: any DataFlowTransport) {
        self.started = .now()
        self.transport = transport
        self.observer?.dataFlowStarted(self)
    }

    /// Its passive listener timed out before the client connected: tell the session.
    func listenerExpired(port: Int) {
        self.observer?.dataListenerExpired(port: port)
    }

    /// Both sides have closed: tell the session what moved.
    func end() {
        guard let transport = self.transport, let started = self.started else { return }
        self.transport = nil
        self.observer?.dataFlowEnded(
            self,
            report: DataFlowReport(
                mode: self.mode,
                bytesToClient: transport.bytesToClient,
                bytesToServer: transport.bytesToServer,
                duration: NIODeadline.now() - started
            )
        )
    }
}

extension DataFlow {
    /// Both connections' addresses and the bytes the receivers have taken so far: nothing is
    /// added to the data path for it.
    func snapshot(session: Int, service: String, now: NIODeadline) -> DataFlowSnapshot {
        DataFlowSnapshot(
            session: session,
            service: service,
            mode: self.mode,
            client: self.transport?.clientAddress ?? "-",
            clientSideLocal: self.transport?.clientSideLocalAddress ?? "-",
            serverSideLocal: self.transport?.serverSideLocalAddress ?? "-",
            server: self.transport?.serverAddress ?? "-",
            bytesToClient: self.transport?.bytesDeliveredToClient ?? 0,
            bytesToServer: self.transport?.bytesDeliveredToServer ?? 0,
            age: now - (self.started ?? now),
            clientTLS: self.clientTLS
        )
    }
}
