import FTPProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Feeds one input through everything in FTPProtocol that reads bytes from a peer, and traps when
/// a round trip or an invariant fails, so that libFuzzer reports it as a crash.
///
/// The first byte picks the session's address family (bit 0), the server's (bit 1) and the
/// data_transfer_policy (the bits above); the rest is the control connection, framed with a small
/// limit so that overlong lines are common.
enum ProtocolFuzzHarness {
    static let maximumLineLength = 64

    static func run(_ bytes: UnsafeRawBufferPointer) {
        var input = ByteBuffer(bytes: bytes)
        let first = Int(input.readInteger(as: UInt8.self) ?? 0)
        let usesIPv6 = first & 1 == 1
        let policy = DataTransferPolicy.allCases[(first >> 2) % DataTransferPolicy.allCases.count]
        let lines = Self.decodeWhole(input)
        precondition(lines == Self.decodeByteAtATime(input), "chunking changed the decoded lines")

        let addresses = Self.addresses(usesIPv6: usesIPv6)
        var machine = ControlSessionStateMachine(addresses: addresses, policy: policy, serverIsIPv6: first & 2 == 2)
        var framer = ReplyFramer()
        for decoded in lines {
            let line: ByteBuffer
            switch decoded {
            case .line(let complete):
                precondition(complete.readableBytes <= Self.maximumLineLength)
                line = complete
            case .overlong(let prefix):
                precondition(prefix.readableBytes == Self.maximumLineLength)
                line = prefix
            }
            precondition(!line.readableBytesView.contains(UInt8(ascii: "\n")), "a decoded line holds a LF")
            Self.command(line, machine: &machine, usesIPv6: usesIPv6)
            Self.reply(line, machine: &machine, framer: &framer, hidden: addresses.hidden)
            Self.addressCodecs(String(decoding: line.readableBytesView, as: UTF8.self))
            Self.addressCodecs(line.readableBytesView)
            Self.scrubber(line)
        }
    }

    private static func addresses(usesIPv6: Bool) -> ControlSessionStateMachine.Addresses {
        if usesIPv6 {
            return .init(client: "2001:db8::7", advertised: "2001:db8::10", hidden: ["fd00::1", "fd00::fe"])
        }
        return .init(client: "198.51.100.7", advertised: "192.0.2.10", hidden: ["10.0.2.1", "10.0.2.254"])
    }

    private static func decodeWhole(_ input: ByteBuffer) -> [ControlLine] {
        var decoder = ControlLineDecoder(maximumLineLength: Self.maximumLineLength)
        var input = input
        var lines: [ControlLine] = []
        while let line = decoder.decode(buffer: &input) {
            lines.append(line)
        }
        precondition(input.readableBytes == 0, "the decoder left bytes behind")
        return lines
    }

    private static func decodeByteAtATime(_ input: ByteBuffer) -> [ControlLine] {
        var decoder = ControlLineDecoder(maximumLineLength: Self.maximumLineLength)
        var lines: [ControlLine] = []
        for byte in input.readableBytesView {
            var one = ByteBuffer(integer: byte)
            while let line = decoder.decode(buffer: &one) {
                lines.append(line)
            }
        }
        return lines
    }

    /// The line as a client command: parsed, logged, written back, and run through the rules.
    private static func command(
        _ line: ByteBuffer,
        machine: inout ControlSessionStateMachine,
        usesIPv6: Bool
    ) {
        let command = FTPCommand(line: line)
        _ = command.asciiArgument
        // What a lenient server (proftpd splits at any white space, pure-ftpd after the letters)
        // could take for the verb: the leading letters.
        let leadingLetters = String(
            decoding: line.readableBytesView.prefix { Self.isASCIILetter($0) }.map { $0 & 0xDF },
            as: UTF8.self
        )
        if leadingLetters == "PASS" || leadingLetters == "ACCT" {
            precondition(command.loggableDescription == "\(leadingLetters) ****", "a password reached the log text")
        } else {
            _ = command.loggableDescription
        }

        // Writer then decoder gives the line back, unless it holds 0xFF before a Telnet command
        // byte, which the decoder removes as a Telnet command.
        let bytes = Array(line.readableBytesView)
        let holdsTelnetCommand = zip(bytes, bytes.dropFirst()).contains { $0 == Telnet.iac && (241...254).contains($1) }
        if !holdsTelnetCommand {
            var written = ByteBuffer()
            command.write(into: &written)
            var decoder = ControlLineDecoder(maximumLineLength: line.readableBytes + 1)
            precondition(decoder.decode(buffer: &written) == .line(line), "writer/decoder round trip")
            precondition(written.readableBytes == 0)
        }

        let action = machine.clientCommand(command)
        // A checked PORT/EPRT may reach the server only as the PASV/EPSV its policy gives it.
        if ["PORT", "EPRT", "LPRT", "AUTH"].contains(leadingLetters), case .forward(let sent) = action,
            !["PASV", "EPSV"].contains(sent.line.readableBytesView.count == 4 ? sent.verb : "")
        {
            preconditionFailure("\(leadingLetters) reached the server unchecked")
        }
        switch action {
        case .openActive(let request):
            precondition(request.clientPort >= 1024 && request.clientPort <= 65535)
            let host = usesIPv6 ? "fd00::fe" : "10.0.2.254"
            let port = 1024 + line.readableBytes
            let sent = machine.activeListenerReady(kind: request.serverVerb, host: host, port: port)
            let argument = sent.asciiArgument ?? ""
            switch sent.verb {
            case "PORT":
                let parsed = try? HostPortAddress(parsing: argument)
                precondition(parsed?.host == host && parsed.map { Int($0.port) } == port, "PORT we send")
            case "EPRT":
                let parsed = try? ExtendedAddress(parsing: argument)
                precondition(parsed?.host == host && parsed.map { Int($0.port) } == port, "EPRT we send")
            default:
                preconditionFailure("activeListenerReady sent \(sent.verb)")
            }
        case .forward(let forwarded):
            // Relayed byte for byte, but for the data verbs, which the policy may change, and for
            // "EPSV 1"/"EPSV 2", which lose their argument.
            let dataVerb = forwarded == FTPCommand(verb: "EPSV") || forwarded == FTPCommand(verb: "PASV")
            precondition(forwarded == command || dataVerb, "a relayed command changed")
        case .answer(let text), .refuse(let text, _):
            Self.checkReplyText(text)
        case .openTranslatedPassive:
            break
        }
    }

    /// A reply the balancer writes itself: a code, and no line end that would start another.
    private static func checkReplyText(_ text: String) {
        precondition(ReplyFramer.code(of: ByteBuffer(string: text)) != nil, "a reply without a code")
        precondition(
            !text.utf8.contains(where: { $0 == 10 || $0 == 13 || $0 == Telnet.iac }),
            "a reply with a line end"
        )
    }

    /// The line as a server reply: classified and run through the rules.
    private static func reply(
        _ line: ByteBuffer,
        machine: inout ControlSessionStateMachine,
        framer: inout ReplyFramer,
        hidden: [String]
    ) {
        let framing = framer.classify(line)
        if framing.position != .unframed {
            precondition(framing.code.map { (100...999).contains($0) } == true)
        }
        switch machine.serverReplyLine(line) {
        case .openPassive(let request):
            precondition((0...65535).contains(request.serverPort))
            let port = 1024 + request.serverPort % 60000
            let text = machine.passiveReply(kind: request.kind, port: port)
            switch request.kind {
            case .pasv:
                let parsed = try? HostPortAddress(passiveReplyText: text.dropFirst(4))
                precondition(parsed.map { Int($0.port) } == port, "227 we send")
            case .epsv:
                let parsed = try? ExtendedPassiveReply.port(inReplyText: text)
                precondition(parsed.map { Int($0) } == port, "229 we send")
            }
        case .forward(let relayed), .activeRefused(let relayed):
            for address in hidden {
                precondition(
                    AddressScrubber.replace(address, with: "#", in: relayed) == relayed,
                    "a hidden address survived scrubbing"
                )
            }
        case .replace(let text, _):
            Self.checkReplyText(text)
        case .drop, .resend, .answerPassive, .openTranslatedActive, .endFeatureList:
            break
        }
    }

    /// Every address parser on the text; whatever parses must survive its writer.
    private static func addressCodecs(_ text: some StringProtocol) {
        let argument = text.firstIndex(of: " ").map { text[text.index(after: $0)...] } ?? text[...]
        for candidate in [text[...], argument] {
            if let address = try? HostPortAddress(parsing: candidate) {
                precondition(try! HostPortAddress(parsing: address.text) == address, "PORT round trip")
            }
            if let address = try? HostPortAddress(passiveReplyText: candidate) {
                precondition(try! HostPortAddress(passiveReplyText: "(\(address.text))") == address, "227 round trip")
            }
            if let address = try? ExtendedAddress(parsing: candidate) {
                precondition(try! ExtendedAddress(parsing: address.text) == address, "EPRT round trip")
            }
            if let port = try? ExtendedPassiveReply.port(inReplyText: candidate) {
                precondition(try! ExtendedPassiveReply.port(inReplyText: "(|||\(port)|)") == port, "229 round trip")
            }
        }
        if let address = IPAddress(zoned: String(argument)) {
            precondition(IPAddress(address.canonical) == address.unmapped, "canonical address round trip")
        }
    }

    /// Raw bytes as addresses, so that writers see every value and not only what parses.
    private static func addressCodecs(_ bytes: ByteBufferView) {
        guard bytes.count >= 6 else { return }
        let start = bytes.startIndex
        let octets = Array(bytes[start..<start + 4])
        let port = UInt16(bytes[start + 4]) << 8 | UInt16(bytes[start + 5])
        let address = HostPortAddress(octets: octets, port: port)
        precondition(try! HostPortAddress(parsing: address.text) == address, "PORT round trip")
        let extended = ExtendedAddress(networkProtocol: .ipv4, host: address.host, port: port)
        precondition(try! ExtendedAddress(parsing: extended.text) == extended, "EPRT round trip")
        precondition(IPAddress(address.host)?.ipv4Octets == octets)
    }

    private static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func scrubber(_ line: ByteBuffer) {
        for address in ["10.0.2.1", "fd00::1", "1"] {
            let same = AddressScrubber.replace(address, with: address, in: line)
            precondition(same == line, "replacing an address with itself changed the line")
            let scrubbed = AddressScrubber.replace(address, with: "192.0.2.10", in: line)
            if !line.readableBytesView.containsSequence(Array(address.utf8)) {
                precondition(scrubbed == line, "a line without the address changed")
            }
        }
    }
}

extension ByteBufferView {
    fileprivate func containsSequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, self.count >= needle.count else { return false }
        var index = self.startIndex
        while index <= self.endIndex - needle.count {
            if self[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
