import FTPBalancerConfig
import NIOConcurrencyHelpers
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets of this process (each virtual service's and the admin API's) by what
/// they serve, so that an upgrade can hand the very sockets to a successor process; and the
/// ones a predecessor handed to this one. The successor accepts from the same kernel socket,
/// accept queue included, so no connection waiting to be accepted is lost: closing one of two
/// SO_REUSEPORT sockets instead resets the connections queued on it.
///
/// The two processes never accept from one socket at once (SwiftNIO takes a wake-up with
/// nothing to accept for a bug): a successor opens its listeners without accepting, says it is
/// ready, and accepts once its predecessor has stopped accepting on them (`startAccepting`). Meanwhile
/// new connections wait in the kernel's accept queue.
package final class ListeningSockets: Sendable {
    /// The variable that names a predecessor's sockets to its successor:
    /// `3=control 10.0.0.1:21,4=admin 127.0.0.1:9021`.
    package static let environmentVariable = "FTPLB_LISTENERS"

    private struct Live {
        var descriptor: CInt
        /// The channel that owns the descriptor: accepts while its `autoRead` is on.
        var channel: any Channel
    }

    private struct State {
        var inherited: [String: CInt]
        var live: [String: Live] = [:]
        var handedOver = false
        /// False in a successor until its predecessor has stopped accepting.
        var accepting: Bool
        var paused: [any Channel] = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: NIOLockedValueBox<State>

    package init(inherited: [String: CInt] = [:]) {
        self.state = NIOLockedValueBox(State(inherited: inherited, accepting: inherited.isEmpty))
    }

    /// The sockets a predecessor named in the environment; the variable is removed, so that
    /// nothing this process starts reads it again.
    package static func fromEnvironment() -> ListeningSockets {
        guard let value = getenv(Self.environmentVariable) else { return ListeningSockets() }
        let text = String(cString: value)
        unsetenv(Self.environmentVariable)
        let inherited = Self.parse(text)
        // They came without close-on-exec; nothing else this process starts may keep them.
        for descriptor in inherited.values { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        return ListeningSockets(inherited: inherited)
    }

    /// `3=control 10.0.0.1:21,4=admin [::1]:9021` by key; entries that are not a descriptor
    /// number and a key are left out.
    package static func parse(_ text: String) -> [String: CInt] {
        var sockets: [String: CInt] = [:]
        for entry in text.split(separator: ",") {
            guard let equals = entry.firstIndex(of: "="), let descriptor = CInt(entry[..<equals]), descriptor > 2
            else { continue }
            sockets[String(entry[entry.index(after: equals)...])] = descriptor
        }
        return sockets
    }

    /// The environment value that names `sockets` to a successor.
    package static func format(_ sockets: [(key: String, descriptor: CInt)]) -> String {
        sockets.map { "\($0.descriptor)=\($0.key)" }.joined(separator: ",")
    }

    package static func controlKey(_ endpoint: Endpoint) -> String { "control \(endpoint)" }
    package static func adminKey(_ endpoint: Endpoint) -> String { "admin \(endpoint)" }

    /// Keys a predecessor handed over, for the log.
    package var inheritedKeys: [String] {
        self.state.withLockedValue { $0.inherited.keys.sorted() }
    }

    /// Closes the handed-over sockets that no listener of `keys` will take (the configuration
    /// no longer names them): left open, they would queue connections nobody accepts.
    package func keepInherited(only keys: Set<String>) {
        let unused = self.state.withLockedValue { state in
            let unused = state.inherited.filter { !keys.contains($0.key) }
            for key in unused.keys { state.inherited[key] = nil }
            return unused.values
        }
        for descriptor in unused { close(descriptor) }
    }

    /// The socket a predecessor handed over for `key`, else a new one from `open`.
    package func take(_ key: String, open: () throws -> CInt) throws -> (descriptor: CInt, inherited: Bool) {
        if let descriptor = self.state.withLockedValue({ $0.inherited.removeValue(forKey: key) }) {
            return (descriptor, true)
        }
        return (try open(), false)
    }

    /// A socket now served here by `channel`, opened with `autoRead` off: it accepts now, or
    /// once the predecessor has stopped.
    package func register(_ key: String, descriptor: CInt, channel: any Channel) {
        let now = self.state.withLockedValue { state in
            state.live[key] = Live(descriptor: descriptor, channel: channel)
            if !state.accepting { state.paused.append(channel) }
            return state.accepting
        }
        if now { channel.setOption(.autoRead, value: true).whenFailure { _ in } }
        channel.closeFuture.whenComplete { _ in self.unregister(key, descriptor: descriptor) }
    }

    /// The predecessor has stopped accepting: accept on every socket from now on.
    package func startAccepting() {
        let (paused, waiters) = self.state.withLockedValue { state in
            state.accepting = true
            defer { (state.paused, state.waiters) = ([], []) }
            return (state.paused, state.waiters)
        }
        for channel in paused { channel.setOption(.autoRead, value: true).whenFailure { _ in } }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once this process may accept (at once, unless it is a successor still waiting).
    package func untilAccepting() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = self.state.withLockedValue { state in
                if !state.accepting { state.waiters.append(continuation) }
                return state.accepting
            }
            if now { continuation.resume() }
        }
    }

    /// The socket of `key` is closed (a reload removed its listener): its number may name
    /// another socket soon, never to be handed over.
    private func unregister(_ key: String, descriptor: CInt) {
        self.state.withLockedValue { state in
            if state.live[key]?.descriptor == descriptor { state.live[key] = nil }
        }
    }

    /// The sockets served here, to hand to a successor; empty once handed over.
    package var handOverList: [(key: String, descriptor: CInt)] {
        self.state.withLockedValue { state in
            state.handedOver ? [] : state.live.map { ($0.key, $0.value.descriptor) }.sorted { $0.key < $1.key }
        }
    }

    /// The successor is ready: stop accepting on each socket here; returns once none will
    /// accept again. The sockets stay open until this process ends: closing a listener
    /// while a connection it accepted is still being set up would close that connection too
    /// (SwiftNIO checks the listener is active once the child is ready).
    package func handOver() async {
        let live = self.state.withLockedValue { state in
            state.handedOver = true
            defer { state.live = [:] }
            return state.live.values
        }
        for socket in live {
            try? await socket.channel.setOption(.autoRead, value: false).get()
        }
    }

    package var isHandedOver: Bool {
        self.state.withLockedValue { $0.handedOver }
    }
}
