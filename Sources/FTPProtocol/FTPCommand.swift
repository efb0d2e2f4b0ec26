import NIOCore

/// One command of the control connection: a verb and an optional argument (RFC 959 section 5.3).
///
/// The line is kept as received so that commands the balancer does not rewrite are relayed
/// byte for byte; `verb` is its leading letters upper-cased, for matching only.
package struct FTPCommand: Equatable, Sendable {
    /// The command line without its line end, as received.
    package let line: ByteBuffer

    /// The leading ASCII letters, upper-cased. Empty when the line does not start with a letter.
    ///
    /// Not "up to the first space": servers disagree on what ends a verb (proftpd splits at any
    /// white space, pure-ftpd ends it at the first non-letter), and `PORT\t…` or `PASS\t…` must not
    /// pass the balancer as an unknown verb and reach the server as PORT, or the log as text.
    /// Derived once per line: the session, the state machine and the log all match on it.
    package let verb: String

    /// Verbs whose completion reply follows a data connection (RFC 959 section 4.1.3).
    package static let dataConnectionVerbs: Set<String> = ["RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"]

    private static func verb(of line: ByteBuffer) -> String {
        // Written into the string's bytes at once: appending scalar by scalar cost more than
        // the rest of the command's parsing.
        let letters = line.readableBytesView.prefix { Self.upperASCIILetter($0) != nil }
        return String(unsafeUninitializedCapacity: letters.count) { bytes in
            for (index, byte) in letters.enumerated() {
                bytes[index] = Self.upperASCIILetter(byte) ?? byte
            }
            return letters.count
        }
    }

    /// The bytes after the first space, or nil when there is no space.
    package var argument: ByteBuffer? {
        guard let space = self.line.readableBytesView.firstIndex(of: UInt8(ascii: " ")) else {
            return nil
        }
        let start = space + 1
        return self.line.getSlice(at: start, length: self.line.writerIndex - start)
    }

    /// The argument as ASCII text, or nil when absent or not ASCII.
    package var asciiArgument: String? {
        guard let argument = self.argument else { return nil }
        guard argument.readableBytesView.allSatisfy({ $0 < 0x80 }) else { return nil }
        return String(buffer: argument)
    }

    package init(line: ByteBuffer) {
        self.line = line
        self.verb = Self.verb(of: line)
    }

    /// A command the balancer composes itself.
    package init(verb: String, argument: String? = nil) {
        var line = ByteBuffer()
        line.writeString(verb)
        if let argument {
            line.writeString(" ")
            line.writeString(argument)
        }
        self.line = line
        self.verb = Self.verb(of: line)
    }

    /// The line as it may be logged: the argument of PASS (and ACCT) is masked.
    package var loggableDescription: String {
        switch self.verb {
        case "PASS", "ACCT":
            return "\(self.verb) ****"
        default:
            return String(decoding: self.line.readableBytesView, as: UTF8.self)
        }
    }

    /// Writes the command with its CRLF.
    package func write(into buffer: inout ByteBuffer) {
        ControlLineWriter.write(self.line, into: &buffer)
    }

    private static func upperASCIILetter(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - 32
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte
        default: nil
        }
    }
}

/// Writes one control-connection line: the bytes as they are, then CRLF. A 0xFF byte is not
/// doubled: the decoder kept the client's bytes unchanged, and so does the writer.
package enum ControlLineWriter {
    package static func write(_ line: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(line)
        buffer.writeStaticString("\r\n")
    }

    package static func write(_ line: String, into buffer: inout ByteBuffer) {
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
    }
}
