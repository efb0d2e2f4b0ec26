#if os(Linux)
import CSplice
import FTPDataPlane
import Glibc
import Logging
import NIOCore

/// Sees connection attempts to the passive range of an IPv4 advertised address at ports this
/// node has no listener on: a misrouted data connection behind ECMP, whose SYN the kernel
/// answers with a reset that no socket of ours would ever see. A raw socket gets a copy of each
/// SYN to the range (a BPF filter drops every other packet in the kernel), and a thread of its
/// own counts those the allocator does not expect. Needs CAP_NET_RAW; without it only the
/// connections that reach an open port of another client are counted.
final class PassiveRangeWatch: @unchecked Sendable {
    /// What is watched: one advertised address and range, shared by the services that share
    /// their passive ports.
    struct Key: Hashable {
        var address: String
        var range: ClosedRange<Int>
    }

    let key: Key
    private let descriptor: CInt
    private let wakeup: CInt
    private let ports: PassivePortAllocator
    private let misrouted: MisroutedDataConnections
    private let logger: Logger
    private var thread: pthread_t?

    /// Opens the raw socket; nil for an IPv6 address (raw IPv6 sockets get no TCP), throws
    /// without the privilege.
    init?(
        key: Key,
        ports: PassivePortAllocator,
        misrouted: MisroutedDataConnections,
        logger: Logger
    ) throws(SystemCallError) {
        guard let address = try? SocketAddress(ipAddress: key.address, port: 0), case .v4(let v4) = address else {
            return nil
        }
        let descriptor = csplice_syn_watch_socket(
            UInt32(bigEndian: v4.address.sin_addr.s_addr),
            UInt16(key.range.lowerBound),
            UInt16(key.range.upperBound)
        )
        guard descriptor >= 0 else { throw SystemCallError("socket(AF_INET, SOCK_RAW)") }
        let wakeup = csplice_eventfd()
        guard wakeup >= 0 else {
            let error = SystemCallError("eventfd")
            Glibc.close(descriptor)
            throw error
        }
        self.key = key
        self.descriptor = descriptor
        self.wakeup = wakeup
        self.ports = ports
        self.misrouted = misrouted
        self.logger = logger
    }

    func start() throws(SystemCallError) {
        self.thread = try NamedThread.start(named: "ftplb-synwatch") { self.run() }
    }

    /// Ends the thread and closes the socket. Call once, after `start`.
    func stop() {
        _ = csplice_eventfd_signal(self.wakeup)
        if let thread = self.thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
        Glibc.close(self.descriptor)
        Glibc.close(self.wakeup)
    }

    private func run() {
        var packet = [UInt8](repeating: 0, count: 64)
        while true {
            let ready = csplice_wait_readable(self.descriptor, self.wakeup, 1000)
            if ready == 2 { return }
            guard ready == 1 else {
                if ready < 0, errno != EINTR { return }
                continue
            }
            while true {
                let length = packet.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, 0) }
                guard length > 0 else { break }
                self.inspect(packet[0..<length])
            }
        }
    }

    /// An IPv4 header and the start of a TCP header, as the filter let them through.
    private func inspect(_ packet: ArraySlice<UInt8>) {
        let start = packet.startIndex
        guard packet.count >= 20 else { return }
        let headerLength = Int(packet[start] & 0x0f) * 4
        guard packet.count >= headerLength + 4 else { return }
        let port = Int(packet[start + headerLength + 2]) << 8 | Int(packet[start + headerLength + 3])
        // One string for the dotted quad, not one per octet and a join: this runs per SYN.
        let source = "\(packet[start + 12]).\(packet[start + 13]).\(packet[start + 14]).\(packet[start + 15])"
        guard !self.ports.expects(port, from: source) else { return }
        self.misrouted.record(peer: source, port: port, logger: self.logger)
    }
}
#endif
