import FTPProtocol
import NIOCore
import NIOPosix

/// The control connection of a health check: sends commands and reads whole replies.
struct ProbeSession {
    /// A complete reply: its code and its last line.
    struct Reply {
        var code: Int
        var text: String
    }

    var inbound: NIOAsyncChannelInboundStream<ControlLine>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var framer = ReplyFramer()

    init(inbound: NIOAsyncChannelInboundStream<ControlLine>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound
        self.outbound = outbound
    }

    func send(_ line: String) async throws {
        var buffer = ByteBuffer()
        ControlLineWriter.write(line, into: &buffer)
        try await self.outbound.write(buffer)
    }

    /// Sends `line` and returns the next complete reply, preliminary (1yz) ones included:
    /// RETR's caller wants its 150.
    mutating func command(_ line: String, step: String) async throws -> Reply {
        try await self.send(line)
        return try await self.nextReply(step: step)
    }

    /// Sends `line` (if any) and requires a reply with `code`.
    mutating func expect(_ code: Int, after line: String?, step: String) async throws {
        if let line { try await self.send(line) }
        var reply = try await self.nextReply(step: step)
        // A 120 ("ready in a few minutes") precedes the real greeting.
        while reply.code < 200, code >= 200 {
            reply = try await self.nextReply(step: step)
        }
        guard reply.code == code else {
            throw ProbeFailure("\(step): expected \(code), got \(reply.text)")
        }
    }

    /// The next complete reply; a line that is not part of one is skipped.
    mutating func nextReply(step: String) async throws -> Reply {
        while let line = try await self.inbound.next() {
            let bytes: ByteBuffer
            switch line {
            case .line(let line): bytes = line
            case .overlong(let prefix): bytes = prefix
            }
            let classified = self.framer.classify(bytes)
            if classified.endsReply, let code = classified.code {
                return Reply(code: code, text: String(decoding: bytes.readableBytesView.prefix(200), as: UTF8.self))
            }
        }
        throw ProbeFailure("\(step): the server closed the control connection")
    }
}

/// The data connection of an `ftp_transfer` check: connected to the server's passive port, or
/// accepted on a listener for active mode.
struct ProbeDataConnection {
    private let accepted: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, Never>, Never>?
    private let connected: NIOAsyncChannel<ByteBuffer, Never>?

    var listeningAddress: SocketAddress? { self.accepted?.channel.localAddress }

    static func connect(
        to address: SocketAddress,
        from control: SocketAddress?,
        timeout: TimeAmount,
        tls: ProbeTLS?,
        eventLoop: any EventLoop,
        connections: ProbeConnections
    ) async throws -> ProbeDataConnection {
        var bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(timeout)
        // From the control connection's address: servers refuse data from any other.
        if let host = control?.ipAddress {
            bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: host, port: 0))
        }
        let channel = try await bootstrap.connect(to: address) { channel in
            channel.eventLoop.makeCompletedFuture {
                connections.add(channel)
                try tls?.secureData(channel)
                return try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
            }
        }
        return ProbeDataConnection(accepted: nil, connected: channel)
    }

    static func listen(
        on control: SocketAddress?,
        tls: ProbeTLS?,
        eventLoop: any EventLoop,
        connections: ProbeConnections
    ) async throws -> ProbeDataConnection {
        guard let host = control?.ipAddress else { throw ProbeFailure("the control connection has no local address") }
        let listener = try await ServerBootstrap(group: eventLoop)
            .bind(host: host, port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    connections.add(child)
                    // The accepting side of an active data connection is still the TLS client.
                    try tls?.secureData(child)
                    return try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: child)
                }
            }
        connections.add(listener.channel)
        return ProbeDataConnection(accepted: listener, connected: nil)
    }

    /// Reads until the server closes the data connection; returns the byte count.
    func readAll() async throws -> Int {
        if let connected = self.connected {
            return try await Self.count(connected)
        }
        guard let accepted = self.accepted else { return 0 }
        return try await accepted.executeThenClose { children, _ in
            var iterator = children.makeAsyncIterator()
            guard let child = try await iterator.next() else { throw ProbeFailure("no data connection arrived") }
            return try await Self.count(child)
        }
    }

    private static func count(_ channel: NIOAsyncChannel<ByteBuffer, Never>) async throws -> Int {
        try await channel.executeThenClose { inbound, _ in
            var size = 0
            for try await chunk in inbound {
                size += chunk.readableBytes
            }
            return size
        }
    }
}
