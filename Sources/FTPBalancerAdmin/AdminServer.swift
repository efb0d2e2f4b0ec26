import FTPBalancer
import FTPBalancerConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The admin HTTP API as a long-running service on the balancer's event loops. On graceful
/// shutdown it stops accepting and lets the requests under way be answered.
package struct AdminServer: Service, CustomStringConvertible {
    /// Bodies are a few bytes (`{"weight": 3}`); anything larger is refused unread.
    static let bodyLimit = 64 * 1024
    /// A connection that sends nothing for this long is closed, so none can hold up shutdown.
    static let idleTimeout = TimeAmount.seconds(30)
    /// The request idle timeout's handler, removed from a connection that streams (a trace).
    static let idleHandlerName = "idle-timeout"

    let configuration: AdminConfiguration
    let api: AdminAPI
    let group: any EventLoopGroup
    let logger: Logger
    /// Where the listening socket comes from (a predecessor's, on an upgrade) and is handed on.
    let listeningSockets: ListeningSockets

    package init(
        configuration: AdminConfiguration,
        api: AdminAPI,
        group: any EventLoopGroup,
        listeningSockets: ListeningSockets = ListeningSockets(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.listeningSockets = listeningSockets
        self.api = api
        self.group = group
        self.logger = logger
    }

    /// ServiceLifecycle logs this: one line, and never the token.
    package var description: String {
        "AdminServer(\(self.configuration.listen?.description ?? "off"))"
    }

    package func run() async throws {
        guard let listen = self.configuration.listen else {
            self.logger.info("admin API off (admin.listen: none)")
            return
        }
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        let key = ListeningSockets.adminKey(listen)
        // A successor's admin API waits, like its listeners, for its predecessor's to close.
        await self.listeningSockets.untilAccepting()
        let socket: CInt
        do {
            socket = try self.listeningSockets.take(key) {
                try ListeningSocket.open(listen, freebind: false, ipv6Only: false)
            }.descriptor
            server = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.autoRead, value: false)
                .bind(socket) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            IdleStateHandler(readTimeout: Self.idleTimeout),
                            name: Self.idleHandlerName
                        )
                        try channel.pipeline.syncOperations.addHandler(IdleChannelCloser())
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            guard self.configuration.mustListen else {
                // The default address is best effort: a second balancer on the host still runs.
                self.logger.warning(
                    "admin API not started: cannot listen on its default address; set admin.listen to another address, or none",
                    metadata: [
                        "ftp.admin.listen": "\(listen)",
                        "ftp.error": "\(OperatorText.describe(error, host: listen.host, port: listen.port))",
                    ]
                )
                return
            }
            throw AdminServerError(
                message:
                    "admin API: cannot listen on \(listen) (admin.listen): "
                    + OperatorText.describe(error, host: listen.host, port: listen.port)
            )
        }
        self.listeningSockets.register(key, descriptor: socket, channel: server.channel)
        self.logger.notice(
            "admin API listening",
            metadata: [
                "ftp.admin.listen": "\(listen)",
                "ftp.admin.token": "\(self.configuration.token == nil ? "none" : "(set)")",
            ]
        )
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { tasks in
                    for try await connection in connections {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    /// Answers the requests of one connection in order until the client closes it.
    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let peer = connection.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        do {
            try await withGracefulShutdownHandler {
                try await connection.executeThenClose { inbound, outbound in
                    var head: HTTPRequestHead?
                    var body = ByteBuffer()
                    var tooLarge = false
                    for try await part in inbound {
                        switch part {
                        case .head(let requestHead):
                            head = requestHead
                            body.clear()
                            tooLarge = false
                        case .body(var chunk):
                            tooLarge = tooLarge || body.readableBytes + chunk.readableBytes > Self.bodyLimit
                            if !tooLarge { body.writeBuffer(&chunk) }
                        case .end:
                            guard let requestHead = head else { continue }
                            let response: AdminResponse
                            if tooLarge {
                                response = .error(
                                    .payloadTooLarge,
                                    "the request body is larger than \(Self.bodyLimit) bytes"
                                )
                            } else {
                                let request = AdminRequest(
                                    method: requestHead.method,
                                    uri: requestHead.uri,
                                    authorization: requestHead.headers.first(name: "authorization"),
                                    body: body,
                                    peer: peer
                                )
                                response = await self.api.respond(to: request)
                            }
                            if let stream = response.stream {
                                // A stream ends the connection when it ends.
                                defer {
                                    self.logger.notice(
                                        "admin API: trace ended",
                                        metadata: ["ftp.admin.peer": "\(peer)"]
                                    )
                                }
                                try await Self.stream(stream, on: connection.channel, to: outbound)
                                return
                            }
                            try await Self.write(response, keepAlive: requestHead.isKeepAlive, to: outbound)
                        }
                    }
                }
            } onGracefulShutdown: {
                // The HTTP pipeline closes an idle connection now, a busy one after its answer.
                connection.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        } catch {
            self.logger.debug(
                "admin API connection ended with an error",
                metadata: ["ftp.admin.peer": "\(peer)", "ftp.error": "\(OperatorText.describe(error))"]
            )
        }
    }

    private static func write(
        _ response: AdminResponse,
        keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let (status, contentType, text) = response.encoded
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        // A client that asked to close gets its answer, then closes; the server does not close
        // first, which could cut the answer short.
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(string: text))), .end(nil)])
    }
}

/// The admin listener could not be opened where the operator asked for it.
package struct AdminServerError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { self.message }
}

/// Closes a connection on which the idle timeout fired: an async channel does not see the event.
package final class IdleChannelCloser: ChannelInboundHandler {
    package typealias InboundIn = ByteBuffer

    package init() {}

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension IdleChannelCloser: Sendable {}
