#if DEBUG || FUZZING
import FTPProtocol
import NIOCore

/// The bytes of one session fuzz input, read front to back; an input that runs out ends the
/// session's events (the harness then lets every peer go away).
struct SessionFuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { self.position >= self.bytes.count }

    /// The next byte; 0 once the input has run out.
    mutating func byte() -> Int {
        guard self.position < self.bytes.count else { return 0 }
        defer { self.position += 1 }
        return Int(self.bytes[self.position])
    }

    mutating func number(below limit: Int) -> Int {
        self.byte() % limit
    }

    /// A port a listener could have been given: never 0.
    mutating func port() -> Int {
        1024 + (self.byte() << 8 | self.byte()) % 64512
    }

    /// A line from `table`, or (for an index past its end) the next bytes of the input framed by
    /// the real control line decoder, as a peer's line reaches the session.
    mutating func line(from table: [String]) -> ControlLine {
        let index = self.byte()
        if index < table.count {
            return .line(ByteBuffer(bytes: table[index].unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }))
        }
        let length = self.number(below: 48)
        var raw = ByteBuffer()
        for _ in 0..<length where !self.isAtEnd {
            raw.writeInteger(UInt8(self.byte()))
        }
        raw.writeString("\r\n")
        var decoder = ControlLineDecoder(maximumLineLength: 40)
        return decoder.decode(buffer: &raw) ?? .line(ByteBuffer())
    }

    /// A line cut at the decoder's limit, as the session gets an overlong one.
    mutating func overlongLine(from table: [String]) -> ControlLine {
        switch self.line(from: table) {
        case .line(let bytes), .overlong(let bytes): .overlong(prefix: bytes)
        }
    }
}

/// What peers say in the fuzzed sessions. The client is 198.51.100.7 (or 2001:db8::7), the
/// server 10.0.2.1 (fd00::1); tokens outside the tables come from the input's own bytes.
enum SessionFuzzLines {
    static let client: [String] = [
        "USER anonymous", "USER", "user ftp", "PASS guest", "PASS\tsecret", "ACCT x", "PASV", "EPSV", "EPSV ALL",
        "EPSV 1", "EPSV 2", "EPSV 3", "PORT 198,51,100,7,19,137", "PORT 198,51,100,7,0,21", "PORT 10,0,2,9,19,137",
        "PORT 1,2,3", "EPRT |1|198.51.100.7|5001|", "EPRT |2|2001:db8::7|5001|", "EPRT |2|::ffff:198.51.100.7|5002|",
        "EPRT |1|198.51.100.7|80|", "EPRT |3|x|1|", "EPRT", "LPRT 4,4,1,2,3,4,2,1,1", "LPSV", "SPSV", "RETR file",
        "STOR file", "APPE file", "STOU", "LIST", "NLST", "MLSD", "REST 100", "TYPE I", "CWD /", "SYST", "NOOP",
        "QUIT", "FEAT", "AUTH TLS", "AUTH SSL", "PBSZ 0", "PROT P", "ABOR", "\u{FF}\u{F4}\u{FF}\u{F2}ABOR", "STAT",
        "STAT file", "HELP", "SITE CHMOD 644 f", "", " ", "PASV x", "RETR", "epsv", "port 198,51,100,7,19,138",
        "PROT C",
    ]

    static let server: [String] = [
        "220 Ready.", "220-Welcome", "220 ", "220-", " welcome text", "230 Login successful.", "230-Welcome",
        "232 Logged in.", "331 Password required.", "332 Need account.", "200 OK.", "200 PORT command successful.",
        "200-PORT", "150 Opening data connection.", "125 Data connection already open.", "150-multi", "120 Wait.",
        "226 Transfer complete.", "226-Done", "250 OK.", "257 \"/\" is the directory.",
        "227 Entering Passive Mode (10,0,2,1,156,64).", "227 Entering Passive Mode (10,0,2,1,4,1)",
        "227 Entering Passive Mode (192,168,9,9,19,137).", "227 Entering Passive Mode (10,0,2,1,300,1).",
        "227 garbage", "227-Entering Passive Mode (10,0,2,1,156,64).", "227 =10,0,2,1,156,65",
        "229 Entering Extended Passive Mode (|||6446|)", "229 Entering Extended Passive Mode (|||99999|)",
        "229 (|||0|)", "229 garbage", "229-x", "228 Entering Long Passive Mode (4,4,10,0,2,1,2,4,1)",
        "500 Unknown command.", "500 EPSV not understood.", "502 Not implemented.", "501 Syntax error.",
        "425 Cannot open data connection.", "426 Aborted.", "421 Timeout.", "421-Going away", "530 Not logged in.",
        "550 No such file.", "211-Features:", " AUTH TLS", " PBSZ", " PROT", " EPSV", " MDTM", "211 End",
        "211-Status of 10.0.2.1", " 200 inside", "211 End of status", "213 100", "221 Goodbye.", "234 AUTH TLS OK.",
        "", "  ", "abc", "22", "2200 x", "999 x", "100 x", "099 x", "5", "10.0.2.1", "fd00::1",
        "200 address 10.0.2.1 and fd00::1",
    ]
}
#endif
