import FTPProtocol
import NIOCore
import Testing

@Suite struct AddressScrubberTests {
    @Test func aWholeAddressIsReplaced() {
        let scrubbed = AddressScrubber.replace(
            "10.0.2.1",
            with: "192.0.2.10",
            in: line("220 FTP server at 10.0.2.1 ready")
        )
        #expect(scrubbed == line("220 FTP server at 192.0.2.10 ready"))
    }

    @Test func anAddressThatIsPartOfALongerAddressIsNotReplaced() {
        for text in [
            "220 at 10.0.2.11", "220 at 110.0.2.1", "220 at 1.10.0.2.1", "220 at 10.0.2.1.5", "220 at 10.0.2.10:21",
        ] {
            #expect(AddressScrubber.replace("10.0.2.1", with: "192.0.2.10", in: line(text)) == line(text), "\(text)")
        }
    }

    @Test func anIPv4AddressFollowedByAPortOrInsideAnIPv6AddressIsReplaced() {
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line("220 at 10.0.2.1:21")) == line("220 at V:21"))
        #expect(
            AddressScrubber.replace("10.0.2.1", with: "V", in: line("220 at ::ffff:10.0.2.1"))
                == line("220 at ::ffff:V")
        )
    }

    @Test func anIPv6AddressIsReplacedOnlyWhole() {
        #expect(
            AddressScrubber.replace("fd00::1", with: "2001:db8::10", in: line("211 on fd00::1 ok"))
                == line("211 on 2001:db8::10 ok")
        )
        #expect(
            AddressScrubber.replace("fd00::1", with: "2001:db8::10", in: line("211 on [fd00::1]:21"))
                == line("211 on [2001:db8::10]:21")
        )
        for text in [
            "211 on fd00::1a", "211 on fd00::12", "211 on fd00::1:2", "211 on afd00::1", "211 on fd00::1.2.3.4",
        ] {
            #expect(AddressScrubber.replace("fd00::1", with: "2001:db8::10", in: line(text)) == line(text), "\(text)")
        }
    }

    @Test func anIPv6AddressAtTheEndOfASentenceIsReplaced() {
        // A full stop is not part of the address: only a dot before a digit is (`::ffff:1.2.3.4`).
        #expect(
            AddressScrubber.replace("fd00::1", with: "2001:db8::10", in: line("220 Server fd00::1."))
                == line("220 Server 2001:db8::10.")
        )
        #expect(
            AddressScrubber.replace("fd00::1", with: "2001:db8::10", in: line("220 fd00::1. Hello"))
                == line("220 2001:db8::10. Hello")
        )
    }

    @Test func anAddressNextToPunctuationIsReplaced() {
        let text = "211 (10.0.2.1) [10.0.2.1], 10.0.2.1. |1|10.0.2.1|21| 10.0.2.1"
        let expected = "211 (V) [V], V. |1|V|21| V"
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line(text)) == line(expected))
    }

    @Test func everyOccurrenceIsReplaced() {
        let scrubbed = AddressScrubber.replace("10.0.2.1", with: "192.0.2.10", in: line("10.0.2.1 10.0.2.11 10.0.2.1"))
        #expect(scrubbed == line("192.0.2.10 10.0.2.11 192.0.2.10"))
    }

    @Test func bytesOutsideAMatchAreCopiedUnchanged() {
        let before: [UInt8] = [0xFF, 0x00, 0xE9, 0x20]
        let after: [UInt8] = [0x20, 0xC3, 0x28, 0x0D]
        let scrubbed = AddressScrubber.replace("10.0.2.1", with: "V", in: line(before + Array("10.0.2.1".utf8) + after))
        #expect(scrubbed == line(before + Array("V".utf8) + after))
    }

    @Test func aLineWithoutTheAddressIsReturnedAsItIs() {
        let bytes: [UInt8] = Array("226 Transfer complete ".utf8) + [0xFF, 0xFE]
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line(bytes)) == line(bytes))
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line("10.0.2")) == line("10.0.2"))
        #expect(AddressScrubber.replace("", with: "V", in: line("anything")) == line("anything"))
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line("")) == line(""))
    }

    @Test func theLineCanBeExactlyTheAddress() {
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: line("10.0.2.1")) == line("V"))
    }

    @Test func aLineThatDoesNotStartAtIndexZeroIsScrubbed() {
        var buffer = line("junk 220 at 10.0.2.1.")
        buffer.moveReaderIndex(forwardBy: 5)
        #expect(AddressScrubber.replace("10.0.2.1", with: "V", in: buffer) == line("220 at V."))
    }

    @Test func replacingWithTheSameAddressChangesNothingForRandomLines() {
        var generator = SeededGenerator(seed: 959)
        let pieces = ["10.0.2.1", "1", ".", " ", ":", "a", "0"]
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            #expect(AddressScrubber.replace("10.0.2.1", with: "10.0.2.1", in: line(text)) == line(text))
            let scrubbed = String(buffer: AddressScrubber.replace("10.0.2.1", with: "#", in: line(text)))
            #expect(scrubbed.replacing("#", with: "10.0.2.1") == text)
        }
    }
}
