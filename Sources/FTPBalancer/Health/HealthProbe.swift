import FTPBalancerConfig
import FTPProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What one health check found.
package struct HealthProbeResult: Equatable, Sendable {
    package var passed: Bool
    /// Why it failed, or what passed, in words for the log.
    package var detail: String
    package var duration: TimeAmount
    /// How long the TCP connect to the control port took, when it succeeded.
    package var connectLatency: TimeAmount?
}

/// One health check of one server, as a small FTP client: connect; read the greeting; log in;
/// download a file over a passive or active data connection. Every step has to finish within the
/// check's timeout, after which every connection it opened is closed.
package struct HealthProbe: Sendable {
    package let configuration: HealthCheckConfiguration
    package let server: Endpoint
    /// Where connections to the server leave from, as for client sessions.
    package let sourceAddress: String?
    /// The PROXY protocol version the servers expect, if any: checks say they are local.
    package let proxyHeader: ProxyProtocolHeader.Version?
    /// `server_tls:` of the service: checks speak FTPS as its sessions do.
    let tls: ProbeTLS?
    package let eventLoop: any EventLoop

    package init(
        configuration: HealthCheckConfiguration,
        server: Endpoint,
        sourceAddress: String?,
        proxyHeader: ProxyProtocolHeader.Version? = nil,
        serverTLS: ServerTLSContext? = nil,
        eventLoop: any EventLoop
    ) {
        self.configuration = configuration
        self.server = server
        self.sourceAddress = sourceAddress
        self.proxyHeader = proxyHeader
        self.tls = serverTLS.map { ProbeTLS(context: $0) }
        self.eventLoop = eventLoop
    }

    package func run() async -> HealthProbeResult {
        let started = NIODeadline.now()
        let connections = ProbeConnections()
        let timeout = self.configuration.timeout.timeAmount
        let deadline = self.eventLoop.scheduleTask(in: timeout) { connections.expire() }
        var latency: TimeAmount?
        let outcome: Result<String, any Error>
        do {
            // Shutting down cancels the monitor: end the check at once rather than at its timeout.
            let detail = try await withTaskCancellationHandler {
                try await self.check(connections: connections) { latency = $0 }
            } onCancel: {
                connections.expire()
            }
            outcome = .success(detail)
        } catch {
            outcome = .failure(error)
        }
        deadline.cancel()
        connections.closeAll()
        let duration = NIODeadline.now() - started
        switch outcome {
        case .success(let detail):
            return HealthProbeResult(passed: true, detail: detail, duration: duration, connectLatency: latency)
        case .failure(let error):
            let detail =
                connections.expired
                ? "timed out after \(self.configuration.timeout.shortText)" : OperatorText.describe(error)
            return HealthProbeResult(passed: false, detail: detail, duration: duration, connectLatency: latency)
        }
    }

    private func check(connections: ProbeConnections, connected: (TimeAmount) -> Void) async throws -> String {
        let connectStarted = NIODeadline.now()
        let control = try await self.connectControl(connections: connections)
        connected(NIODeadline.now() - connectStarted)
        return try await control.executeThenClose { inbound, outbound in
            if let version = self.proxyHeader {
                var header = ByteBuffer()
                ProxyProtocolHeader.writeLocal(version, into: &header)
                try await outbound.write(header)
            }
            if self.configuration.kind == .tcp {
                return "connected"
            }
            var session = ProbeSession(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            try await session.expect(220, after: nil, step: "greeting")
            switch self.configuration.kind {
            case .none, .tcp:
                return "connected"
            case .ftp:
                try? await session.send("QUIT")
                return "greeting 220"
            case .ftpLogin:
                try await self.tls?.secure(&session, control: control.channel)
                try await self.logIn(&session)
                try? await session.send("QUIT")
                return "logged in" + self.overTLS
            case .ftpTransfer:
                try await self.tls?.secure(&session, control: control.channel)
                try await self.logIn(&session)
                let size = try await self.download(&session, control: control.channel, connections: connections)
                try? await session.send("QUIT")
                return "downloaded \(size) bytes" + self.overTLS
            }
        }
    }

    private var overTLS: String {
        guard let tls = self.tls else { return "" }
        return " over TLS (\(tls.protCommand))"
    }

    private func connectControl(connections: ProbeConnections) async throws -> NIOAsyncChannel<ControlLine, ByteBuffer> {
        var bootstrap = ClientBootstrap(group: self.eventLoop).connectTimeout(self.configuration.timeout.timeAmount)
        if let source = self.sourceAddress {
            bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0))
        }
        return try await bootstrap.connect(host: self.server.host, port: self.server.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                connections.add(channel)
                // Implicit FTPS: even the greeting is TLS; a TCP check only connects.
                if let tls = self.tls, tls.startsWithTLS, self.configuration.kind != .tcp {
                    try channel.pipeline.syncOperations.addHandler(tls.controlHandler())
                }
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(ControlLineDecoder(maximumLineLength: 16384))
                )
                return try NIOAsyncChannel<ControlLine, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
    }

    private func logIn(_ session: inout ProbeSession) async throws {
        let user = self.configuration.user ?? "anonymous"
        let reply = try await session.command("USER \(user)", step: "USER")
        switch reply.code {
        case 230:
            return
        case 331, 332:
            try await session.expect(230, after: "PASS \(self.configuration.password ?? "")", step: "PASS")
        default:
            throw ProbeFailure("USER answered \(reply.text)")
        }
    }

    /// Downloads the configured file and returns its size.
    private func download(_ session: inout ProbeSession, control: Channel, connections: ProbeConnections) async throws -> Int {
        let file = self.configuration.file ?? ""
        try await session.expect(200, after: "TYPE I", step: "TYPE I")
        let data: ProbeDataConnection
        switch self.configuration.transferMode {
        case .passive:
            let port = try await self.enterPassive(&session)
            data = try await ProbeDataConnection.connect(
                to: try SocketAddress(ipAddress: self.server.host, port: Int(port)),
                from: control.localAddress,
                timeout: self.configuration.timeout.timeAmount,
                tls: self.tls,
                eventLoop: self.eventLoop,
                connections: connections
            )
        case .active:
            data = try await ProbeDataConnection.listen(
                on: control.localAddress,
                tls: self.tls,
                eventLoop: self.eventLoop,
                connections: connections
            )
            try await session.expect(200, after: Self.activeCommand(for: data.listeningAddress), step: "PORT")
        }
        let opening = try await session.command("RETR \(file)", step: "RETR")
        guard opening.code == 150 || opening.code == 125 else {
            throw ProbeFailure("RETR \(file) answered \(opening.text)")
        }
        let size = try await data.readAll()
        try await session.expect(226, after: nil, step: "RETR \(file) completion")
        if let expected = self.configuration.expectedSize, expected != size {
            throw ProbeFailure("\(file) has \(size) bytes, expected \(expected)")
        }
        return size
    }

    /// EPSV first: it works for both address families; PASV for servers that refuse it. The
    /// address in a 227 is ignored, as servers behind NAT announce a useless one.
    private func enterPassive(_ session: inout ProbeSession) async throws -> UInt16 {
        let extended = try await session.command("EPSV", step: "EPSV")
        if extended.code == 229 {
            return try ExtendedPassiveReply.port(inReplyText: extended.text)
        }
        let reply = try await session.command("PASV", step: "PASV")
        guard reply.code == 227 else { throw ProbeFailure("PASV answered \(reply.text)") }
        return try HostPortAddress(passiveReplyText: reply.text.dropFirst(4)).port
    }

    static func activeCommand(for address: SocketAddress?) throws -> String {
        guard let address, let ip = IPAddress(address), let host = address.ipAddress, let port = address.port else {
            throw ProbeFailure("the data listener has no address")
        }
        if let octets = ip.ipv4Octets {
            return "PORT " + HostPortAddress(octets: octets, port: UInt16(port)).text
        }
        return "EPRT " + ExtendedAddress(networkProtocol: .ipv6, host: host, port: UInt16(port)).text
    }
}

/// A health check that did not pass, in words.
struct ProbeFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Every channel a probe opened, so that its deadline can close them all at once and whatever
/// step is waiting ends.
final class ProbeConnections: Sendable {
    private let state = NIOLockedValueBox<(channels: [any Channel], expired: Bool)>(([], false))

    func add(_ channel: any Channel) {
        let expired = self.state.withLockedValue { state in
            state.channels.append(channel)
            return state.expired
        }
        if expired { channel.close(promise: nil) }
    }

    var expired: Bool { self.state.withLockedValue { $0.expired } }

    func expire() {
        self.state.withLockedValue { $0.expired = true }
        self.closeAll()
    }

    func closeAll() {
        let channels = self.state.withLockedValue { state in
            defer { state.channels.removeAll() }
            return state.channels
        }
        for channel in channels { channel.close(promise: nil) }
    }
}
