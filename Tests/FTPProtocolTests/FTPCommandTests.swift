import FTPProtocol
import NIOCore
import Testing

@Suite struct FTPCommandTests {
    @Test func theVerbIsTheFirstWordUpperCased() {
        #expect(command("retr file.txt").verb == "RETR")
        #expect(command("Pasv").verb == "PASV")
        #expect(command("").verb == "")
    }

    @Test func theArgumentIsEverythingAfterTheFirstSpaceKeptAsBytes() {
        #expect(command("STOR my file.txt").argument == line("my file.txt"))
        #expect(command("CWD  two spaces").argument == line(" two spaces"))
        #expect(command("EPSV ").argument == line(""))
        #expect(command("PASV").argument == nil)
    }

    @Test func theArgumentKeepsBytesThatAreNotUTF8() {
        let bytes: [UInt8] = Array("RETR caf".utf8) + [0xE9]
        let command = FTPCommand(line: line(bytes))
        #expect(command.argument == line(Array("caf".utf8) + [0xE9]))
        #expect(command.asciiArgument == nil)
    }

    @Test func theASCIIArgumentIsTheArgumentAsText() {
        #expect(command("PORT 10,0,0,1,4,1").asciiArgument == "10,0,0,1,4,1")
        #expect(command("NOOP").asciiArgument == nil)
    }

    @Test func theVerbEndsAtTheFirstCharacterThatIsNotALetter() {
        // proftpd splits words at any white space and pure-ftpd takes the leading letters as the
        // verb: the balancer must see the same verb the server will.
        #expect(command("PORT\t10,0,0,1,4,1").verb == "PORT")
        #expect(command("PASS\tsecret").verb == "PASS")
        #expect(command("AUTH\tTLS").verb == "AUTH")
        #expect(command("PORT10,0,0,1,4,1").verb == "PORT")
        #expect(command("P@SW").verb == "P")
        #expect(command(" PORT 10,0,0,1,4,1").verb == "")
    }

    @Test func aLineThatIsNotAsciiHasAVerbOfItsLettersOnly() {
        #expect(FTPCommand(line: line([0x52, 0x45, 0x54, 0x52, 0xE9, 0x20, 0x41])).verb == "RETR")
    }

    @Test func theLoggableDescriptionMasksThePasswordAndTheAccount() {
        #expect(command("PASS s3cret").loggableDescription == "PASS ****")
        #expect(command("pass s3cret").loggableDescription == "PASS ****")
        #expect(command("ACCT billing").loggableDescription == "ACCT ****")
        #expect(command("PASS").loggableDescription == "PASS ****")
    }

    @Test func theLoggableDescriptionMasksAPasswordAfterATab() {
        #expect(command("PASS\ts3cret").loggableDescription == "PASS ****")
        #expect(!command("pass\ts3cret").loggableDescription.contains("s3cret"))
    }

    @Test func theLoggableDescriptionShowsOtherCommandsAsReceived() {
        #expect(command("USER anonymous").loggableDescription == "USER anonymous")
        #expect(command("RETR PASS").loggableDescription == "RETR PASS")
    }

    @Test func aComposedCommandIsItsVerbASpaceAndItsArgument() {
        #expect(FTPCommand(verb: "PORT", argument: "10,0,2,1,195,80") == command("PORT 10,0,2,1,195,80"))
        #expect(FTPCommand(verb: "EPSV") == command("EPSV"))
    }

    @Test func theWriterKeepsEveryByteAndEndsWithCRLF() {
        var buffer = ByteBuffer()
        FTPCommand(line: line([0x41, 0xFF, 0x42])).write(into: &buffer)
        #expect(buffer == line([0x41, 0xFF, 0x42, 0x0D, 0x0A]))

        buffer.clear()
        command("NOOP").write(into: &buffer)
        #expect(buffer == line("NOOP\r\n"))

        buffer.clear()
        ControlLineWriter.write("227 Entering Passive Mode (192,0,2,10,156,64).", into: &buffer)
        #expect(buffer == line("227 Entering Passive Mode (192,0,2,10,156,64).\r\n"))
    }

    @Test func whatTheWriterWritesTheDecoderReadsBack() {
        var generator = SeededGenerator(seed: 0xC0FFEE)
        for _ in 0..<500 {
            let count = Int.random(in: 0..<40, using: &generator)
            // Any byte but LF, which cannot be part of a line; 0xFF and CR are drawn often.
            let bytes: [UInt8] = (0..<count).map { _ in
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: return 0xFF
                case 1: return UInt8(ascii: "\r")
                default: return UInt8.random(in: 0...255, using: &generator)
                }
            }.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }
            // 0xFF before a Telnet command byte is a Telnet command, which the decoder removes.
            .enumerated().map { index, byte in index > 0 && (241...254).contains(byte) ? UInt8(ascii: "x") : byte }
            let original = FTPCommand(line: line(bytes))
            var written = ByteBuffer()
            original.write(into: &written)
            var decoder = ControlLineDecoder()
            #expect(decoder.decode(buffer: &written) == .line(original.line), "\(bytes)")
            #expect(written.readableBytes == 0)
        }
    }
}
