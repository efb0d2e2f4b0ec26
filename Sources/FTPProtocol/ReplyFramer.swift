import NIOCore

/// Where a line stands in the reply it belongs to (RFC 959 section 4.2).
package struct ReplyLine: Equatable, Sendable {
    package enum Position: Equatable, Sendable {
        /// A one-line reply: `227 text`.
        case single
        /// The first line of a multi-line reply: `211-text`.
        case opening
        /// A line inside a multi-line reply, whatever it looks like.
        case continuation
        /// The last line of a multi-line reply: `211 text`.
        case closing
        /// A line outside any reply that does not start with a code. Relayed, never acted on.
        case unframed
    }

    /// The reply code, for every position but `unframed`.
    package var code: Int?
    package var position: Position

    /// True when this line completes a reply.
    package var endsReply: Bool { self.position == .single || self.position == .closing }

    /// True for a completion reply (2xx-5xx), which answers a command; 1xx replies are
    /// preliminary and another reply to the same command follows.
    package var endsCommand: Bool { self.endsReply && (self.code ?? 0) >= 200 }
}

/// Tells, line by line, how server replies are framed, so that the balancer can relay each line
/// as it arrives (no reply is buffered whole) and still know which reply it belongs to.
package struct ReplyFramer: Sendable {
    private var openCode: Int?

    package init() {}

    package mutating func classify(_ line: ByteBuffer) -> ReplyLine {
        let code = Self.code(of: line)
        let separator = line.getInteger(at: line.readerIndex + 3, as: UInt8.self)
        if let openCode = self.openCode {
            if code == openCode, separator == nil || separator == UInt8(ascii: " ") {
                self.openCode = nil
                return ReplyLine(code: openCode, position: .closing)
            }
            return ReplyLine(code: openCode, position: .continuation)
        }
        guard let code else {
            return ReplyLine(code: nil, position: .unframed)
        }
        if separator == UInt8(ascii: "-") {
            self.openCode = code
            return ReplyLine(code: code, position: .opening)
        }
        return ReplyLine(code: code, position: .single)
    }

    /// The three-digit code at the start of a line, or nil.
    package static func code(of line: ByteBuffer) -> Int? {
        guard line.readableBytes >= 3 else { return nil }
        var code = 0
        for index in 0..<3 {
            let byte = line.getInteger(at: line.readerIndex + index, as: UInt8.self)!
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100 else { return nil }
        return code
    }
}
