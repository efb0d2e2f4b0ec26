import ArgumentParser
import FTPBalancer
import FTPBalancerAdmin
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The `ftplb` commands' side of the admin API: one HTTP/1.1 request per call, over NIO.
struct AdminClient {
    static let defaultAddress = "127.0.0.1:9021"
    /// Answers larger than this are refused rather than held in memory.
    static let responseLimit = AdminJSON.sizeLimit
    static let timeout = TimeAmount.seconds(30)

    let address: String
    let host: String
    let port: Int
    let token: String?

    /// `ADDR:PORT`, `[IPv6]:PORT`; the token from `--token` or else `FTPLB_ADMIN_TOKEN`.
    init(address: String, token: String?) throws(AdminClientError) {
        self.address = address
        let hostPart: Substring
        let portPart: Substring
        if address.hasPrefix("["), let close = address.firstIndex(of: "]"), address[close...].hasPrefix("]:") {
            hostPart = address[address.index(after: address.startIndex)..<close]
            portPart = address[address.index(close, offsetBy: 2)...]
        } else if let colon = address.lastIndex(of: ":"), !address[..<colon].contains(":") {
            hostPart = address[..<colon]
            portPart = address[address.index(after: colon)...]
        } else {
            throw AdminClientError(
                "--admin: expected ADDR:PORT such as 127.0.0.1:9021 or [::1]:9021; found '\(address)'"
            )
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (1...65535).contains(port) else {
            throw AdminClientError(
                "--admin: expected ADDR:PORT such as 127.0.0.1:9021 or [::1]:9021; found '\(address)'"
            )
        }
        self.host = String(hostPart)
        self.port = port
        self.token = token ?? getenv("FTPLB_ADMIN_TOKEN").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The answer, as its view and as the text the API sent; a status other than 2xx becomes an
    /// error with the API's own message.
    func request<Answer: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        body: (any Encodable)? = nil,
        as type: Answer.Type
    ) async throws -> (answer: Answer, text: String) {
        let payload = try body.map { ByteBuffer(string: try AdminJSON.document($0)) }
        let (status, received) = try await self.exchange(method, path, payload: payload)
        try self.checkStatus(status, answer: received.readableBytesView)
        do {
            return (try AdminJSON.decode(type, from: received.readableBytesView), String(buffer: received))
        } catch {
            throw AdminClientError("the admin API at \(self.address) did not answer with the JSON this ftplb reads")
        }
    }

    private func exchange(
        _ method: HTTPMethod,
        _ path: String,
        payload: ByteBuffer?
    ) async throws -> (HTTPResponseStatus, ByteBuffer) {
        let channel = try await self.connect(readTimeout: Self.timeout)
        let head = self.requestHead(method, path, payload: payload)
        return try await channel.executeThenClose { inbound, outbound in
            var parts: [HTTPClientRequestPart] = [.head(head)]
            if let payload { parts.append(.body(.byteBuffer(payload))) }
            parts.append(.end(nil))
            try await outbound.write(contentsOf: parts)
            var status: HTTPResponseStatus?
            var received = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let responseHead):
                    status = responseHead.status
                case .body(var chunk):
                    guard received.readableBytes + chunk.readableBytes <= Self.responseLimit else {
                        throw AdminClientError("the admin API's answer is larger than \(Self.responseLimit) bytes")
                    }
                    received.writeBuffer(&chunk)
                case .end:
                    guard let status else { break }
                    return (status, received)
                }
            }
            throw AdminClientError("the admin API at \(self.address) closed the connection before answering")
        }
    }

    func requestHead(_ method: HTTPMethod, _ path: String, payload: ByteBuffer?) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: self.address)
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Content-Length", value: "\(payload?.readableBytes ?? 0)")
        if payload != nil { headers.add(name: "Content-Type", value: "application/json") }
        if let token = self.token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    }

    /// A connection to the API; nil `readTimeout` for a stream, which may be quiet for long.
    func connect(
        readTimeout: TimeAmount?
    ) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: self.host, port: self.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let readTimeout {
                            try channel.pipeline.syncOperations.addHandlers([
                                IdleStateHandler(readTimeout: readTimeout), IdleChannelCloser(),
                            ])
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            let refused = (error as? NIOConnectionError)?.connectionErrors.allSatisfy {
                ($0.error as? IOError)?.errnoCode == ECONNREFUSED
            }
            // A refusal says it all; anything else (a timeout, no route) is worth its detail.
            let detail = refused == true ? "" : ": \(OperatorText.describe(error))"
            throw AdminClientError(
                "no ftplb admin API at \(self.address) (is ftplb running? is admin.listen set?)\(detail)"
            )
        }
    }
}

extension AdminClient {
    /// A status other than 2xx becomes an error with the API's own message, read from `answer`
    /// (bounded by `responseLimit`).
    func checkStatus(_ status: HTTPResponseStatus, answer: some Sequence<UInt8>) throws {
        guard !(200..<300).contains(status.code) else { return }
        let message =
            (try? AdminJSON.decode(ErrorAnswer.self, from: answer))?.error ?? "\(status.code) \(status.reasonPhrase)"
        switch status {
        case .unauthorized:
            throw AdminClientError(
                "the admin API at \(self.address) wants a valid token: give --token TOKEN or set FTPLB_ADMIN_TOKEN (admin.token of the configuration)"
            )
        default:
            throw AdminClientError(message)
        }
    }
}

/// Why an admin command failed, in words for the operator.
struct AdminClientError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { self.message }
}

/// The options every admin command takes.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "The admin API of the ftplb instance (ADDR:PORT).")
    var admin: String = AdminClient.defaultAddress

    @Option(name: .long, help: "The admin token (admin.token); default: $FTPLB_ADMIN_TOKEN.")
    var token: String?

    @Flag(name: .long, help: "Print the API's JSON instead of a table.")
    var json = false

    func client() throws -> AdminClient {
        do {
            return try AdminClient(address: self.admin, token: self.token)
        } catch {
            throw ValidationError(error.message)
        }
    }
}
