import FTPBalancerConfig
import NIOCore
import Testing

@testable import FTPBalancer

@Suite("Transfer log lines")
struct TransferLogFormatterTests {
    /// Sat Nov 21 10:00:00 2026 UTC, and 123 ms.
    static let finished = WallClockTime(seconds: 1_795_255_200, nanoseconds: 123_456_789)

    static func record(
        command: String? = "RETR",
        file: String? = "report.pdf",
        status: TransferRecord.Status = .complete,
        reply: Int? = 226
    ) -> TransferRecord {
        TransferRecord(
            finished: Self.finished,
            session: 7,
            service: "main",
            clientHost: "192.0.2.10",
            serverName: "ftp1",
            serverAddress: "10.0.2.11:21",
            user: "alice",
            command: command,
            file: file,
            binary: true,
            mode: .epsv,
            direction: TransferRecord.direction(of: command ?? ""),
            bytes: 1234,
            duration: .milliseconds(2400),
            reply: reply,
            status: status
        )
    }

    @Test("An xferlog line has the fourteen fields of wu-ftpd and ProFTPD, in order.")
    func xferlogLine() {
        #expect(
            TransferLogFormatter.xferlog(Self.record(), utc: true)
                == "Sat Nov 21 10:00:00 2026 2 192.0.2.10 1234 report.pdf b _ o r alice ftp 0 * c"
        )
    }

    @Test("An upload is direction i, an incomplete transfer status i, an anonymous user access mode a.")
    func uploadIncompleteAnonymous() {
        var record = Self.record(command: "STOR", status: .incomplete, reply: 426)
        record.user = "anonymous"
        record.binary = false
        let fields = TransferLogFormatter.xferlog(record, utc: true)!.split(separator: " ")
        #expect(fields.count == 18)
        #expect(fields[9] == "a")
        #expect(fields[11] == "i")
        #expect(fields[12] == "a")
        #expect(fields[13] == "anonymous")
        #expect(fields[17] == "i")
    }

    @Test("Spaces and control characters in a file name become _, so that the line keeps its fields.")
    func xferlogEscaping() {
        let line = TransferLogFormatter.xferlog(Self.record(file: "my file\r\nname\t.txt"), utc: true)!
        #expect(line.contains(" my_file__name_.txt "))
        #expect(line.split(separator: " ").count == 18)
        #expect(TransferLogFormatter.xferlogField("") == "-")
    }

    @Test("A day under 10 is padded with a space, as asctime(3) writes it.")
    func ctimeDay() {
        // Sun Nov  1 00:00:00 2026 UTC
        #expect(
            TransferLogFormatter.ctime(WallClockTime(seconds: 1_793_491_200), utc: true) == "Sun Nov  1 00:00:00 2026"
        )
    }

    @Test("xferlog records files only: listings and unclaimed data connections give no line.")
    func xferlogFilesOnly() {
        #expect(TransferLogFormatter.xferlog(Self.record(command: "LIST", file: nil)) == nil)
        #expect(TransferLogFormatter.xferlog(Self.record(command: nil, file: nil)) == nil)
    }

    @Test("A JSON line carries every field, with the time in RFC 3339 UTC.")
    func jsonLine() {
        #expect(
            TransferLogFormatter.json(Self.record())
                == #"{"time":"2026-11-21T10:00:00.123Z","session":7,"service":"main","client":"192.0.2.10","#
                + #""server":"ftp1","server_address":"10.0.2.11:21","user":"alice","command":"RETR","#
                + #""file":"report.pdf","#
                + #""type":"binary","mode":"epsv","direction":"download","bytes":1234,"duration_ms":2400,"reply":226,"#
                + #""status":"complete"}"#
        )
    }

    @Test("JSON escapes quotes, backslashes and control characters; missing values are null.")
    func jsonEscaping() {
        var record = Self.record(command: "LIST", file: "a \"b\"\\c\u{1}\n", reply: nil)
        record.mode = nil
        record.user = nil
        let line = TransferLogFormatter.json(record)
        #expect(line.contains(#""file":"a \"b\"\\c\u0001\n""#))
        #expect(line.contains(#""user":null"#))
        #expect(line.contains(#""mode":null"#))
        #expect(line.contains(#""reply":null"#))
        #expect(!line.contains("\n"))
    }

    @Test("Only a 2xx final reply makes a transfer complete.")
    func statusOfReply() {
        #expect(TransferRecord.status(ofReply: 226) == .complete)
        #expect(TransferRecord.status(ofReply: 250) == .complete)
        #expect(TransferRecord.status(ofReply: 426) == .incomplete)
        #expect(TransferRecord.status(ofReply: 550) == .incomplete)
        #expect(TransferRecord.status(ofReply: nil) == .incomplete)
    }
}
