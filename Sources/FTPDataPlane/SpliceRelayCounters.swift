#if os(Linux)
import CSplice
import Synchronization

/// The bytes a relay has moved each way, readable from any thread (flow snapshots, reports),
/// and its sockets' TCP_INFO while they are open.
package final class SpliceRelayCounters: Sendable {
    package let toClient = Atomic<Int>(0)
    package let toServer = Atomic<Int>(0)
    /// False from the moment the relay closes its sockets: another thread reads TCP_INFO of
    /// their descriptors only while this holds true, so never of a number reused since.
    let socketsOpen = Mutex(true)
    private let client: CInt
    private let server: CInt

    init(client: CInt, server: CInt) {
        self.client = client
        self.server = server
    }

    /// TCP_INFO of the client's or the server's socket; nil once the relay closed them.
    package func tcpInfo(ofClient: Bool) -> csplice_tcp_info? {
        self.socketsOpen.withLock { open in
            open ? SpliceSocket.tcpInfo(ofClient ? self.client : self.server) : nil
        }
    }
}

/// What a relay moved, when it ended.
package struct SpliceRelayEnd: Equatable, Sendable {
    package var bytesToClient: Int
    package var bytesToServer: Int

    package init(bytesToClient: Int, bytesToServer: Int) {
        self.bytesToClient = bytesToClient
        self.bytesToServer = bytesToServer
    }
}
#endif
