import FTPProtocol
import NIOCore
import NIOTestUtils
import Testing

@Suite struct ControlLineDecoderTests {
    @Test func aLineEndingInCRLFIsProducedWithoutItsLineEnd() {
        #expect(
            decodeLines("USER anonymous\r\nPASS guest\r\n") == [
                .line(line("USER anonymous")), .line(line("PASS guest")),
            ]
        )
    }

    @Test func aBareLFEndsALine() {
        #expect(decodeLines("NOOP\nSYST\r\n") == [.line(line("NOOP")), .line(line("SYST"))])
    }

    @Test func anEmptyLineIsProducedAsAnEmptyLine() {
        #expect(decodeLines("\r\n\n") == [.line(line("")), .line(line(""))])
    }

    @Test func aBareCRIsKeptAsADataByte() {
        #expect(decodeLines("RETR a\rb\r\n") == [.line(line("RETR a\rb"))])
        #expect(decodeLines("RETR a\r\r\n") == [.line(line("RETR a\r"))])
        #expect(decodeLines("\r\r\n") == [.line(line("\r"))])
    }

    @Test func aCRAtTheEndOfOneReadAndItsLFInTheNextStillEndTheLine() {
        #expect(decodeLines("NOOP\r\nSYST\r\n", chunkSize: 5) == [.line(line("NOOP")), .line(line("SYST"))])
    }

    @Test func anUnterminatedLineIsNotProduced() {
        #expect(decodeLines("NOOP\r\nSYST") == [.line(line("NOOP"))])
        #expect(decodeLines("SYST\r") == [])
    }

    @Test func telnetInterruptProcessAndDataMarkBeforeABORAreRemoved() {
        let bytes: [UInt8] =
            [Telnet.iac, Telnet.interruptProcess, Telnet.iac, Telnet.dataMark] + Array("ABOR\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line("ABOR"))])
    }

    @Test func theTelnetSynchAfterAPartialCommandLeavesTheCommandIntact() {
        // tnftp: IAC IP, then IAC DM as urgent data, then the command, in separate writes.
        let bytes: [UInt8] =
            [Telnet.iac, Telnet.interruptProcess, Telnet.iac, Telnet.dataMark] + Array("ABOR\r\nPWD\r\n".utf8)
        for chunkSize in 1...bytes.count {
            #expect(decodeLines(bytes, chunkSize: chunkSize) == [.line(line("ABOR")), .line(line("PWD"))])
        }
    }

    @Test func aDoubledIACStaysTwoBytesForTheServerToRead() {
        let bytes: [UInt8] = Array("RETR a".utf8) + [Telnet.iac, Telnet.iac] + Array("b\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line(Array("RETR a".utf8) + [0xFF, 0xFF] + Array("b".utf8)))])
    }

    @Test func anUndoubled0xFFInAFileNameIsKeptAsPythonsFtplibSendsIt() {
        let bytes: [UInt8] = Array("STOR iac-".utf8) + [0xFF] + Array("-byte.bin\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line(Array("STOR iac-".utf8) + [0xFF] + Array("-byte.bin".utf8)))])
    }

    @Test func an0xFFJustBeforeTheLineEndDoesNotSwallowIt() {
        let bytes: [UInt8] = Array("STOR a".utf8) + [0xFF] + Array("\nNOOP\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line(Array("STOR a".utf8) + [0xFF])), .line(line("NOOP"))])
    }

    @Test func optionNegotiationIsRemovedWithItsOptionByte() {
        for verb in [Telnet.will, Telnet.wont, Telnet.do, Telnet.dont] {
            // The option byte is LF on purpose: it must not end the line.
            let bytes: [UInt8] = Array("NO".utf8) + [Telnet.iac, verb, UInt8(ascii: "\n")] + Array("OP\r\n".utf8)
            #expect(decodeLines(bytes) == [.line(line("NOOP"))])
        }
    }

    @Test func subnegotiationIsRemovedUpToIACSE() {
        let bytes: [UInt8] =
            [Telnet.iac, Telnet.subnegotiationBegin, 24, 0]
            + Array("xterm\r\n".utf8) + [Telnet.iac, Telnet.iac, 1]
            + [Telnet.iac, Telnet.subnegotiationEnd] + Array("NOOP\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line("NOOP"))])
    }

    @Test func otherTelnetCommandsAreRemoved() {
        // AO, AYT, NOP, GA: two bytes each, no data.
        let bytes: [UInt8] = Array("NO".utf8) + [255, 245, 255, 246, 255, 241, 255, 249] + Array("OP\r\n".utf8)
        #expect(decodeLines(bytes) == [.line(line("NOOP"))])
    }

    @Test func bytesThatAreNotUTF8AreKept() {
        let name: [UInt8] = Array("RETR caf".utf8) + [0xE9] + Array(".txt".utf8) + [0xC3, 0x28, 0x80]
        #expect(decodeLines(name + Array("\r\n".utf8)) == [.line(line(name))])
    }

    @Test func aLineAsLongAsTheLimitIsALineAndOneByteMoreIsOverlong() {
        #expect(decodeLines("12345678\r\n", maximumLineLength: 8) == [.line(line("12345678"))])
        #expect(decodeLines("12345678\n", maximumLineLength: 8) == [.line(line("12345678"))])
        #expect(decodeLines("123456789\r\n", maximumLineLength: 8) == [.overlong(prefix: line("12345678"))])
        #expect(decodeLines("123456789\n", maximumLineLength: 8) == [.overlong(prefix: line("12345678"))])
    }

    @Test func anOverlongLineIsReportedOnceAndTheNextLineDecodesNormally() {
        let text = String(repeating: "A", count: 100) + "\r\nNOOP\r\n"
        let expected: [ControlLine] = [.overlong(prefix: line("AAAAAAAA")), .line(line("NOOP"))]
        #expect(decodeLines(text, maximumLineLength: 8) == expected)
        #expect(decodeLines(text, maximumLineLength: 8, chunkSize: 1) == expected)
        #expect(decodeLines(text, maximumLineLength: 8, chunkSize: 7) == expected)
    }

    @Test func telnetCommandsDoNotCountAgainstTheLimit() {
        let bytes: [UInt8] =
            [Telnet.iac, Telnet.interruptProcess, Telnet.iac, Telnet.dataMark] + Array("ABOR\r\n".utf8)
        #expect(decodeLines(bytes, maximumLineLength: 4) == [.line(line("ABOR"))])
    }

    @Test func feedingOneByteAtATimeGivesTheSameLinesAsOneRead() {
        var generator = SeededGenerator(seed: 0x4654_5021)
        // Bytes drawn mostly from the ones the decoder treats specially.
        let alphabet: [UInt8] = [
            UInt8(ascii: "\r"), UInt8(ascii: "\n"), Telnet.iac, Telnet.will, Telnet.subnegotiationBegin,
            Telnet.subnegotiationEnd, Telnet.interruptProcess, UInt8(ascii: "A"), UInt8(ascii: " "), 0x00, 0xE9,
        ]
        for _ in 0..<500 {
            let count = Int.random(in: 0..<80, using: &generator)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            let whole = decodeLines(bytes, maximumLineLength: 6)
            #expect(decodeLines(bytes, maximumLineLength: 6, chunkSize: 1) == whole, "\(bytes)")
            #expect(decodeLines(bytes, maximumLineLength: 6, chunkSize: 3) == whole, "\(bytes)")
        }
    }

    /// The decoder copies runs of plain bytes in one step. Runs that cross the length limit,
    /// overlong lines being discarded and Telnet commands inside runs must give what the rules
    /// give byte by byte, as `referenceLines` spells them out.
    @Test func longRunsOfPlainBytesGiveWhatTheRulesGiveByteByByte() {
        var generator = SeededGenerator(seed: 0x5255_4E53)
        let specials: [UInt8] = [UInt8(ascii: "\r"), UInt8(ascii: "\n"), Telnet.iac, Telnet.interruptProcess, Telnet.do]
        for _ in 0..<1000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1..<8, using: &generator) {
                bytes += Array(repeating: UInt8(ascii: "A"), count: Int.random(in: 0..<20, using: &generator))
                if Bool.random(using: &generator) { bytes.append(specials.randomElement(using: &generator)!) }
            }
            let limit = Int.random(in: 1...12, using: &generator)
            let expected = referenceLines(bytes, maximumLineLength: limit)
            for chunkSize in [nil, 1, 5] {
                #expect(decodeLines(bytes, maximumLineLength: limit, chunkSize: chunkSize) == expected, "\(bytes) limit \(limit)")
            }
        }
    }

    @Test func anOverlongLineIsReportedAsSoonAsItPassesTheLimitNotAtItsLineEnd() {
        let text = String(repeating: "B", count: 10)
        #expect(decodeLines(text, maximumLineLength: 8) == [.overlong(prefix: line("BBBBBBBB"))])
        #expect(decodeLines(text, maximumLineLength: 8, chunkSize: 3) == [.overlong(prefix: line("BBBBBBBB"))])
    }

    @Test func anEndlessLineHoldsNoMoreThanTheLimit() {
        var decoder = ControlLineDecoder(maximumLineLength: 64)
        var lines: [ControlLine] = []
        for _ in 0..<256 {
            var chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 4096)
            while let line = decoder.decode(buffer: &chunk) { lines.append(line) }
            #expect(decoder.bufferedLineBytes <= 65)
        }
        #expect(lines == [.overlong(prefix: line(String(repeating: "x", count: 64)))])
    }

    /// The decoding rules one byte at a time, as simply as they can be written.
    private func referenceLines(_ bytes: [UInt8], maximumLineLength limit: Int) -> [ControlLine] {
        var lines: [ControlLine] = []
        var current: [UInt8] = []
        var discarding = false
        var index = 0
        func add(_ byte: UInt8) {
            if byte == UInt8(ascii: "\n") {
                defer { current = [] }
                if discarding { discarding = false; return }
                if current.last == UInt8(ascii: "\r") { current.removeLast() }
                lines.append(current.count > limit ? .overlong(prefix: line(Array(current.prefix(limit)))) : .line(line(current)))
            } else if !discarding {
                if current.count > limit {
                    lines.append(.overlong(prefix: line(Array(current.prefix(limit)))))
                    discarding = true
                    current = []
                } else {
                    current.append(byte)
                }
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            guard byte == Telnet.iac else { add(byte); continue }
            guard index < bytes.count else { break }
            let command = bytes[index]
            index += 1
            switch command {
            case Telnet.will, Telnet.wont, Telnet.do, Telnet.dont: index += 1
            case Telnet.subnegotiationBegin:
                while index < bytes.count, !(bytes[index - 1] == Telnet.iac && bytes[index] == Telnet.subnegotiationEnd) { index += 1 }
                index += 1
            case Telnet.noOperation...Telnet.goAhead: break
            default:
                add(Telnet.iac)
                add(command)
            }
        }
        return lines
    }

    @Test func theVerifierAcceptsTheDecoder() throws {
        let iacIP: [UInt8] = [Telnet.iac, Telnet.interruptProcess, Telnet.iac, Telnet.dataMark]
        let pairs: [(ByteBuffer, [ControlLine])] = [
            (line("USER anonymous\r\n"), [.line(line("USER anonymous"))]),
            (line("PASV\n"), [.line(line("PASV"))]),
            (line("\r\n"), [.line(line(""))]),
            (line("RETR a\rb\r\n"), [.line(line("RETR a\rb"))]),
            (line(iacIP + Array("ABOR\r\n".utf8)), [.line(line("ABOR"))]),
            (line([0x52, Telnet.iac, Telnet.iac, 0x0D, 0x0A]), [.line(line([0x52, 0xFF, 0xFF]))]),
            (line([Telnet.iac, Telnet.do, 1, 0x41, 0x0A]), [.line(line("A"))]),
            (
                line([Telnet.iac, Telnet.subnegotiationBegin, 0x0A, Telnet.iac, Telnet.subnegotiationEnd, 0x42, 0x0A]),
                [.line(line("B"))]
            ),
            (
                line(String(repeating: "x", count: 40) + "\r\n"),
                [.overlong(prefix: line(String(repeating: "x", count: 16)))]
            ),
            (line("NOOP\r\nSYST\r\n"), [.line(line("NOOP")), .line(line("SYST"))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) {
            ControlLineDecoder(maximumLineLength: 16)
        }
    }
}
