import CSplice
import NIOCore

/// How much of what a relay wrote to a socket its peer has acknowledged (TCP_INFO's
/// tcpi_bytes_acked), for live figures: bytes read from one side sit in a pipe and the kernel's
/// send buffer (several MiB) before the receiver has them, so a count of bytes read runs ahead
/// of the transfer by that much. (The splice relay's TCP_INFO comes from `SpliceRelayCounters`,
/// which reads it only while the relay's sockets are open.) The count at the flow's start is the baseline, since a socket
/// that connected counts its SYN and an accepted one does not.
struct AcknowledgedBytes: Sendable {
    private let baseline: UInt64?

    init(_ info: csplice_tcp_info?) {
        self.baseline = info.map(Self.bytesAcknowledged)
    }

    /// The bytes of `relayed` that the peer has acknowledged, by `info` read now; `relayed` as
    /// it is when either reading failed.
    func delivered(_ relayed: Int, now info: csplice_tcp_info?) -> Int {
        guard let baseline = self.baseline, let info else { return relayed }
        let acknowledged = Self.bytesAcknowledged(info) &- baseline
        return min(relayed, Int(clamping: acknowledged))
    }

    private static func bytesAcknowledged(_ info: csplice_tcp_info) -> UInt64 {
        withUnsafePointer(to: info) { csplice_tcp_info_bytes_acked($0) }
    }
}

extension AcknowledgedBytes {
    /// TCP_INFO of a channel's socket, read on its event loop; nil elsewhere or if it cannot say.
    static func read(_ channel: any Channel) -> csplice_tcp_info? {
        guard channel.eventLoop.inEventLoop, let provider = channel as? any SocketOptionProvider else { return nil }
        var info: csplice_tcp_info?
        // On the channel's own loop SwiftNIO completes the future before returning it, and a
        // callback added to a completed future runs at once.
        let reading: EventLoopFuture<csplice_tcp_info> = provider.unsafeGetSocketOption(level: .tcp, name: .tcp_info)
        reading.assumeIsolated().whenSuccess { info = $0 }
        return info
    }
}
