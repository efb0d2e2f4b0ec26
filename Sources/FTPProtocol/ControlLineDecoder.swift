import NIOCore

/// One line of the FTP control connection, as `ControlLineDecoder` produces it.
package enum ControlLine: Equatable, Sendable {
    /// A complete line without its line end and with Telnet commands removed.
    case line(ByteBuffer)
    /// A line longer than the limit. It carries the first `limit` bytes; the rest of the line,
    /// up to its line end, is discarded rather than buffered.
    case overlong(prefix: ByteBuffer)
}

/// Splits the control connection into lines (RFC 959 section 4.1: Telnet NVT lines ending in
/// CRLF), with a length limit, because NIO's line splitters have none and treat a bare CR as a
/// line end.
///
/// - A line ends at LF; a CR just before it is dropped. A bare CR elsewhere stays a data byte.
/// - Telnet commands are removed: `IAC IP`, `IAC DM` (sent with ABOR, RFC 959 section 4.1.3)
///   and the other commands that carry no data, `IAC WILL/WONT/DO/DONT option`, and
///   sub-negotiations.
/// - Every other byte is kept as it is, 0xFF included (`IAC IAC` stays two bytes): file names
///   need not be UTF-8, and the balancer relays them byte for byte.
package struct ControlLineDecoder: ByteToMessageDecoder {
    package typealias InboundOut = ControlLine

    package static let defaultMaximumLineLength = 4096

    private enum TelnetState {
        case data
        case afterIAC
        case option  // after WILL/WONT/DO/DONT: one option byte follows
        case subnegotiation
        case subnegotiationAfterIAC
    }

    private let maximumLineLength: Int
    private var line: ByteBuffer
    private var telnetState = TelnetState.data
    private var discardingOverlongLine = false

    /// Bytes of an unfinished line held: never more than the limit and one, however long the
    /// line grows, so that an endless line costs no memory.
    package var bufferedLineBytes: Int { self.line.readableBytes }

    package init(maximumLineLength: Int = ControlLineDecoder.defaultMaximumLineLength) {
        precondition(maximumLineLength > 0)
        self.maximumLineLength = maximumLineLength
        self.line = ByteBuffer()
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let decoded = self.decode(buffer: &buffer) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(decoded))
        return .continue
    }

    package mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // An unterminated last line is dropped: FTP acts only on complete lines.
        try self.decode(context: context, buffer: &buffer)
    }

    /// Consumes bytes until one line is complete; nil when more bytes are needed. Every byte
    /// read is consumed, so the internal line buffer, never `buffer`, holds a partial line.
    package mutating func decode(buffer: inout ByteBuffer) -> ControlLine? {
        if let line = self.wholeLine(from: &buffer) {
            return line
        }
        while buffer.readableBytes > 0 {
            self.appendPlainBytes(from: &buffer)
            guard let byte = buffer.readInteger(as: UInt8.self) else { break }
            if let line = self.consume(byte) {
                return line
            }
        }
        return nil
    }

    /// The most common case without a copy: nothing of a line held, no Telnet command under
    /// way, and an LF within the limit before any IAC. The line is then a slice of `buffer`,
    /// exactly what the byte rules below would build in the line buffer (a copy and an
    /// allocation per line, about 1% of a session's CPU). Nil, with nothing consumed, otherwise.
    private mutating func wholeLine(from buffer: inout ByteBuffer) -> ControlLine? {
        guard self.telnetState == .data, !self.discardingOverlongLine, self.line.readableBytes == 0 else { return nil }
        // `append` keeps up to maximumLineLength + 1 bytes before the LF, as here.
        let end: Int? = buffer.withUnsafeReadableBytes { bytes in
            let window = bytes.prefix(self.maximumLineLength + 2)
            guard let index = window.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == Telnet.iac }),
                window[index] == UInt8(ascii: "\n")
            else { return nil }
            return index
        }
        guard let end, var line = buffer.readSlice(length: end) else { return nil }
        buffer.moveReaderIndex(forwardBy: 1)  // the LF
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if line.readableBytes > self.maximumLineLength {
            return .overlong(prefix: line.getSlice(at: line.readerIndex, length: self.maximumLineLength)!)
        }
        return .line(line)
    }

    /// The common case in one step: the bytes before the next LF or IAC, outside any Telnet
    /// command, are what `append` would take one at a time: kept up to the length limit, or
    /// dropped while an overlong line is discarded. The byte that stops the scan (LF, IAC, or
    /// one past the limit) is left for `consume`.
    private mutating func appendPlainBytes(from buffer: inout ByteBuffer) {
        guard self.telnetState == .data else { return }
        // `append` keeps up to maximumLineLength + 1 bytes before it cuts a line.
        let room = self.discardingOverlongLine ? buffer.readableBytes : self.maximumLineLength + 1 - self.line.readableBytes
        guard room > 0 else { return }
        let plain = buffer.withUnsafeReadableBytes { bytes in
            let window = bytes.prefix(room)
            return window.firstIndex { $0 == UInt8(ascii: "\n") || $0 == Telnet.iac } ?? window.count
        }
        if self.discardingOverlongLine {
            buffer.moveReaderIndex(forwardBy: plain)
        } else if plain > 0, let run = buffer.readSlice(length: plain) {
            self.line.writeImmutableBuffer(run)
        }
    }

    private mutating func consume(_ byte: UInt8) -> ControlLine? {
        switch self.telnetState {
        case .data:
            if byte == Telnet.iac {
                self.telnetState = .afterIAC
                return nil
            }
            return self.append(byte)
        case .afterIAC:
            switch byte {
            case Telnet.will, Telnet.wont, Telnet.do, Telnet.dont:
                self.telnetState = .option
            case Telnet.subnegotiationBegin:
                self.telnetState = .subnegotiation
            case Telnet.noOperation...Telnet.goAhead:
                // IP, DM (sent with ABOR), AO, AYT and the rest carry no data.
                self.telnetState = .data
            default:
                // Not a Telnet command: clients such as Python's ftplib send 0xFF in file names
                // without doubling it, and servers take it literally, so the bytes stay as they
                // are (IAC IAC included) and the server decides.
                self.telnetState = .data
                if let line = self.append(Telnet.iac) { return line }
                return self.append(byte)
            }
            return nil
        case .option:
            self.telnetState = .data
            return nil
        case .subnegotiation:
            if byte == Telnet.iac { self.telnetState = .subnegotiationAfterIAC }
            return nil
        case .subnegotiationAfterIAC:
            self.telnetState = byte == Telnet.subnegotiationEnd ? .data : .subnegotiation
            return nil
        }
    }

    private mutating func append(_ byte: UInt8) -> ControlLine? {
        if byte == UInt8(ascii: "\n") {
            defer { self.line.clear() }
            if self.discardingOverlongLine {
                self.discardingOverlongLine = false
                return nil
            }
            if self.line.readableBytes > 0, self.line.getInteger(at: self.line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                self.line.moveWriterIndex(to: self.line.writerIndex - 1)
            }
            if self.line.readableBytes > self.maximumLineLength {
                return .overlong(prefix: self.line.getSlice(at: self.line.readerIndex, length: self.maximumLineLength)!)
            }
            return .line(self.line)
        }
        if self.discardingOverlongLine {
            return nil
        }
        // One byte of slack so that a CR before the LF does not count against the limit.
        if self.line.readableBytes >= self.maximumLineLength + 1 {
            self.discardingOverlongLine = true
            let prefix = self.line.getSlice(at: self.line.readerIndex, length: self.maximumLineLength)!
            self.line.clear()
            return .overlong(prefix: prefix)
        }
        self.line.writeInteger(byte)
        return nil
    }
}

/// Telnet command bytes that appear on FTP control connections (RFC 854).
package enum Telnet {
    package static let iac: UInt8 = 255
    package static let dont: UInt8 = 254
    package static let `do`: UInt8 = 253
    package static let wont: UInt8 = 252
    package static let will: UInt8 = 251
    package static let subnegotiationBegin: UInt8 = 250
    package static let goAhead: UInt8 = 249
    package static let interruptProcess: UInt8 = 244
    package static let dataMark: UInt8 = 242
    package static let noOperation: UInt8 = 241
    package static let subnegotiationEnd: UInt8 = 240
}
