#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inputs worth starting from, and the words libFuzzer should try, written by `write-seeds`.
enum ProtocolFuzzSeeds {
    static let inputs: [String] = [
        "\u{0}220 (vsFTPd 3.0.3)\r\nUSER anonymous\r\nPASS guest\r\n230 Login successful.\r\n",
        "\u{0}PASV\r\n227 Entering Passive Mode (10,0,2,1,156,64).\r\n",
        "\u{1}EPSV\r\n229 Entering Extended Passive Mode (|||6446|)\r\n",
        "\u{0}PORT 198,51,100,7,19,137\r\n200 PORT command successful.\r\n",
        "\u{0}EPRT |1|198.51.100.7|5001|\r\n500 Illegal PORT command.\r\n",
        "\u{1}EPRT |2|2001:db8::7|5001|\r\nEPRT |2|::ffff:198.51.100.7|5001|\r\n",
        "\u{0}FEAT\r\n211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n EPSV\r\n211 End\r\n",
        "\u{0}STAT\r\n211-Status of 10.0.2.1\r\n 200 inside\r\n211 End\r\n",
        "\u{0}EPSV ALL\r\nPORT 1,2,3,4,5,6\r\nAUTH TLS\r\nLPSV\r\n",
        "\u{0}\u{FF}\u{F4}\u{FF}\u{F2}ABOR\r\n426 aborted\r\n226 ABOR ok\r\n",
        "\u{0}RETR x\r\n150 Opening\r\n226 Done\r\n",
        // data_transfer_policy passive (index 1): PORT sent as EPSV, refused, retried as PASV.
        "\u{4}PORT 198,51,100,7,19,137\r\n500 EPSV?\r\n227 Entering Passive Mode (10,0,2,1,156,64)\r\n",
        // An IPv6 client under active (index 2): EPSV becomes PORT towards the server.
        "\u{9}EPSV\r\n200-PORT\r\n200 ok\r\nEPRT |2|2001:db8::7|5001|\r\n",
    ]

    static let dictionary = [
        "USER", "PASS", "ACCT", "PASV", "EPSV", "EPSV ALL", "PORT ", "EPRT ", "LPRT", "LPSV", "SPSV", "AUTH TLS",
        "FEAT",
        "STAT", "ABOR", "211-", "211 ", "227 ", "228 ", "229 ", "150 ", "200 ", "500 ", "|||", "|1|", "|2|", "(|||",
        "|)", "10.0.2.1", "10.0.2.254", "fd00::1", "::ffff:", "198.51.100.7", "2001:db8::7", "198,51,100,7,",
        "10,0,2,1,", " AUTH", " PBSZ", " PROT", "\r\n", "\t", "\u{FF}\u{FF}", "\u{FF}\u{FA}", "\u{FF}\u{F0}",
        "\u{FF}\u{FB}",
    ]

    /// Writes one file per seed input into `directory` and the dictionary to `dictionaryPath`.
    static func write(directory: String, dictionaryPath: String) -> Bool {
        for (number, input) in Self.inputs.enumerated() {
            let bytes = input.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            guard Self.write(bytes, to: "\(directory)/seed-\(number)") else { return false }
        }
        // libFuzzer's dictionary format: one quoted token a line, bytes escaped as \xNN.
        let lines = Self.dictionary.map { token in
            let escaped = token.unicodeScalars.map { scalar -> String in
                let byte = UInt8(truncatingIfNeeded: scalar.value)
                guard (0x20..<0x7F).contains(byte), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") else {
                    let hex = String(byte, radix: 16, uppercase: true)
                    return "\\x" + (hex.count == 1 ? "0" + hex : hex)
                }
                return String(scalar)
            }.joined()
            return "\"\(escaped)\""
        }
        return Self.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: dictionaryPath)
    }

    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return fwrite(bytes, 1, bytes.count, file) == bytes.count
    }
}
