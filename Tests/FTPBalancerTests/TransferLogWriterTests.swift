import FTPBalancerConfig
import Logging
import NIOCore
import Testing

@testable import FTPBalancer

#if canImport(Glibc)
import Glibc
#endif

@Suite("The transfer log writer")
struct TransferLogWriterTests {
    static func temporaryDirectory() -> String {
        var template = Array("/tmp/ftplb-transfer-log-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: path!)
    }

    static func read(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func remove(_ directory: String, _ files: [String]) {
        for file in files { unlink("\(directory)/\(file)") }
        rmdir(directory)
    }

    @Test("Lines reach the file in order, each with a line end, and close writes what is queued.")
    func writesInOrder() throws {
        let directory = Self.temporaryDirectory()
        defer { Self.remove(directory, ["log"]) }
        let writer = try TransferLogWriter(path: "\(directory)/log", logger: Logger(label: "test"))
        for index in 0..<100 { writer.append("line \(index)") }
        writer.close()
        #expect(Self.read("\(directory)/log") == (0..<100).map { "line \($0)\n" }.joined())
        var status = stat()
        stat("\(directory)/log", &status)
        #expect(status.st_mode & 0o077 & ~0o040 == 0, "no access for others, read at most for the group")
    }

    @Test("After the file is renamed, reopen starts a new file at the path; earlier lines stay in the old one.")
    func reopenAfterRename() throws {
        let directory = Self.temporaryDirectory()
        defer { Self.remove(directory, ["log", "log.1"]) }
        let writer = try TransferLogWriter(path: "\(directory)/log", logger: Logger(label: "test"))
        writer.append("before")
        #expect(rename("\(directory)/log", "\(directory)/log.1") == 0)
        writer.reopen()
        writer.append("after")
        writer.close()
        #expect(Self.read("\(directory)/log.1") == "before\n")
        #expect(Self.read("\(directory)/log") == "after\n")
    }

    @Test("A full queue drops lines and counts them instead of blocking.")
    func boundedQueue() throws {
        let directory = Self.temporaryDirectory()
        defer { Self.remove(directory, ["log"]) }
        let writer = try TransferLogWriter(path: "\(directory)/log", capacity: 10, logger: Logger(label: "test"))
        writer.holdingWrites {
            for index in 0..<25 { writer.append("line \(index)") }
        }
        #expect(writer.droppedLines == 15)
        writer.close()
        #expect(Self.read("\(directory)/log") == (0..<10).map { "line \($0)\n" }.joined())
        writer.append("after close")
        #expect(writer.droppedLines == 16)
    }

    @Test("A path that cannot be opened is refused when the writer is made, with the reason.")
    func unopenable() {
        #expect(throws: BalancerError.self) {
            try TransferLogWriter(path: "/nonexistent-directory/log", logger: Logger(label: "test"))
        }
    }
}

@Suite("The transfer log across reloads")
struct TransferLogReloadTests {
    @Test("A new path opens a new file and closes the old one after its lines; a new format applies to the next line.")
    func switching() throws {
        let directory = TransferLogWriterTests.temporaryDirectory()
        defer { TransferLogWriterTests.remove(directory, ["a", "b"]) }
        let log = TransferLog(logger: Logger(label: "test"))
        try log.apply(TransferLogConfiguration(path: "\(directory)/a", format: .json))
        log.record(TransferLogFormatterTests.record())
        try log.apply(TransferLogConfiguration(path: "\(directory)/a", format: .xferlog))
        log.record(TransferLogFormatterTests.record())
        try log.apply(TransferLogConfiguration(path: "\(directory)/b", format: .xferlog))
        log.record(TransferLogFormatterTests.record())
        log.close()
        let first = TransferLogWriterTests.read("\(directory)/a").split(separator: "\n")
        #expect(first.count == 2)
        #expect(first.first?.hasPrefix("{") == true)
        #expect(first.last?.hasSuffix(" c") == true)
        #expect(TransferLogWriterTests.read("\(directory)/b").split(separator: "\n").count == 1)
    }

    @Test("A path that cannot be opened changes nothing: the log goes on in its file.")
    func unopenable() throws {
        let directory = TransferLogWriterTests.temporaryDirectory()
        defer { TransferLogWriterTests.remove(directory, ["a"]) }
        let log = TransferLog(logger: Logger(label: "test"))
        try log.apply(TransferLogConfiguration(path: "\(directory)/a"))
        #expect(throws: BalancerError.self) {
            try log.prepare(TransferLogConfiguration(path: "/nonexistent-directory/a"))
        }
        log.record(TransferLogFormatterTests.record())
        log.close()
        #expect(TransferLogWriterTests.read("\(directory)/a").split(separator: "\n").count == 1)
    }
}
