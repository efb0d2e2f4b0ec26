import FTPBalancerAdmin
import NIOCore
import NIOHTTP1

extension AdminClient {
    /// How a stream ended.
    enum StreamEnd {
        /// The API ended the response.
        case ended
        /// The connection closed before the response's end.
        case cutOff
    }

    /// A longer line than this is not an event of ours: the stream is refused.
    static let streamLineLimit = 1 << 20

    /// GETs a streamed answer (JSON lines) and hands each line to `onLine` as it arrives; an
    /// error status is thrown as `request` throws it.
    func stream(_ path: String, onLine: (String) throws -> Void) async throws -> StreamEnd {
        let channel = try await self.connect(readTimeout: nil)
        let head = self.requestHead(.GET, path, payload: nil)
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
            var status: HTTPResponseStatus?
            var pending = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let responseHead):
                    status = responseHead.status
                case .body(var chunk):
                    guard status == .ok else {
                        // An error answer is one small JSON document.
                        guard pending.readableBytes + chunk.readableBytes <= Self.responseLimit else {
                            throw AdminClientError("the admin API's answer is larger than \(Self.responseLimit) bytes")
                        }
                        pending.writeBuffer(&chunk)
                        continue
                    }
                    pending.writeBuffer(&chunk)
                    while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = pending.readString(length: newline - pending.readerIndex)!
                        pending.moveReaderIndex(forwardBy: 1)
                        try onLine(line)
                    }
                    guard pending.readableBytes <= Self.streamLineLimit else {
                        throw AdminClientError("the admin API sent a line longer than \(Self.streamLineLimit) bytes")
                    }
                    pending.discardReadBytes()
                case .end:
                    guard let status else { break }
                    if status != .ok {
                        try self.checkStatus(status, answer: pending.readableBytesView)
                    }
                    return .ended
                }
            }
            if status == nil {
                throw AdminClientError("the admin API at \(self.address) closed the connection before answering")
            }
            return .cutOff
        }
    }
}
