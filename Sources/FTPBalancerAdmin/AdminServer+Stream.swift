import NIOCore
import NIOHTTP1
import ServiceLifecycle

extension AdminServer {
    /// Sends a chunked response, one line per event, until the stream ends, the reader
    /// disconnects, or the balancer shuts down; then closes the connection.
    static func stream(
        _ stream: AdminStream,
        on channel: any Channel,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        // A trace may be quiet for long: the idle timeout is for requests, not for this.
        try? await channel.pipeline.removeHandler(name: Self.idleHandlerName).get()
        // The reader hanging up is seen here, not by a write that may never come.
        channel.closeFuture.whenComplete { _ in stream.cancel() }
        defer { stream.cancel() }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-ndjson")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Connection", value: "close")
        // No Content-Length: NIO sends the body chunked.
        try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)))
        try await withGracefulShutdownHandler {
            for await event in stream.events {
                let line = try AdminJSON.line(TraceEventView(event))
                try await outbound.write(.body(.byteBuffer(ByteBuffer(string: line + "\n"))))
            }
        } onGracefulShutdown: {
            stream.cancel()
        }
        try await outbound.write(.end(nil))
    }
}
