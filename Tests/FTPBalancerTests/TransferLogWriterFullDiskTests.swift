import InMemoryLogging
import Logging
import Testing

@testable import FTPBalancer

@Suite("The transfer log writer on a full disk")
struct TransferLogWriterFullDiskTests {
    @Test("Writes to a full device lose their lines with one error, then a warning at most every 10 s, and no crash.")
    func aFullDeviceIsReportedOnceAndCounted() throws {
        let handler = InMemoryLogHandler()
        let writer = try TransferLogWriter(path: "/dev/full", logger: Logger(label: "test") { _ in handler })
        #expect(writer.isWriting)
        for index in 0..<50 { writer.append("line \(index)") }
        writer.close()
        #expect(writer.failedLines == 50)
        #expect(!writer.isWriting)
        let failures = handler.entries.filter { $0.message.description.hasPrefix("transfer log:") }
        #expect(failures.first?.level == .error)
        #expect(failures.first?.message.description == "transfer log: cannot write; lines are lost until it can")
        #expect(failures.first?.metadata["ftp.error"] == "no space left on device")
        // Every failed write within 10 s of the first: only the first is told.
        #expect(failures.count == 1)
    }
}
