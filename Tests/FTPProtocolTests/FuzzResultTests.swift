import FTPProtocol
import NIOCore
import Testing

/// Inputs that broke an invariant of the FTPProtocolFuzz harness, replayed through the same
/// checks. The first byte of each input picks the address family, as in the harness.
@Suite struct FuzzResultTests {
    /// The harness's checks on a client line, short of the round trips the other suites cover.
    private static func checkClientLines(_ input: [UInt8]) {
        let usesIPv6 = (input.first ?? 0) & 1 == 1
        var machine = ControlSessionStateMachine(
            addresses: usesIPv6
                ? .init(client: "2001:db8::7", advertised: "2001:db8::10", hidden: ["fd00::1"])
                : .init(client: "198.51.100.7", advertised: "192.0.2.10", hidden: ["10.0.2.1"])
        )
        for decoded in decodeLines(Array(input.dropFirst()), maximumLineLength: 64) {
            guard case .line(let line) = decoded else { continue }
            let command = FTPCommand(line: line)
            let leadingLetters = String(
                decoding: line.readableBytesView.prefix { ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }.map {
                    $0 & 0xDF
                },
                as: UTF8.self
            )
            if leadingLetters == "PASS" || leadingLetters == "ACCT" {
                #expect(command.loggableDescription == "\(leadingLetters) ****")
            }
            let action = machine.clientCommand(command)
            if ["PORT", "EPRT", "LPRT", "AUTH"].contains(leadingLetters), case .forward = action {
                Issue.record("\(leadingLetters) reached the server unchecked: \(command.loggableDescription)")
            }
        }
    }

    @Test func aPasswordAfterATabIsMaskedAndAPortAfterATabIsNotForwarded() {
        // Found by review and tripped the harness before FTPCommand.verb stopped at the first
        // non-letter: the verb was "PASS\tSECRET" and "PORT\t…", so neither was recognised.
        Self.checkClientLines(Array("\u{0}PASS\tsecret\r\nPORT\t10,0,2,9,19,137\r\nAUTH\tTLS\r\n".utf8))
        Self.checkClientLines(Array("\u{0}pass\u{0B}secret\r\nPORT10,0,2,9,19,137\r\nEPRT\t|1|10.0.2.9|5001|\r\n".utf8))
    }
}
