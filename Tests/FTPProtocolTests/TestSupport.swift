import FTPProtocol
import NIOCore

/// A line of the control connection, as the decoder gives it and the state machine takes it.
func line(_ text: String) -> ByteBuffer {
    ByteBuffer(string: text)
}

func line(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

func command(_ text: String) -> FTPCommand {
    FTPCommand(line: ByteBuffer(string: text))
}

/// Runs `ControlLineDecoder` over `bytes`, in reads of `chunkSize` bytes (all at once when nil).
func decodeLines(_ bytes: [UInt8], maximumLineLength: Int = 4096, chunkSize: Int? = nil) -> [ControlLine] {
    var decoder = ControlLineDecoder(maximumLineLength: maximumLineLength)
    var lines: [ControlLine] = []
    let chunkSize = chunkSize ?? max(bytes.count, 1)
    var start = 0
    while start < bytes.count {
        var buffer = ByteBuffer(bytes: bytes[start..<min(start + chunkSize, bytes.count)])
        while let line = decoder.decode(buffer: &buffer) {
            lines.append(line)
        }
        start += chunkSize
    }
    return lines
}

func decodeLines(_ text: String, maximumLineLength: Int = 4096, chunkSize: Int? = nil) -> [ControlLine] {
    decodeLines(Array(text.utf8), maximumLineLength: maximumLineLength, chunkSize: chunkSize)
}

/// A seeded generator (SplitMix64), so that a failing property-style loop fails the same way again.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
