import Testing

@testable import FTPProtocolFuzz

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The session fuzz harness in the suite: every input of the kept corpus, then a fixed number of
/// inputs made from it by a seeded generator, so that a run is the same on every machine.
@Suite struct SessionFuzzRunTests {
    /// The corpus the long libFuzzer run kept, minimized (README, Reliability).
    static let corpusDirectory = String(#filePath.dropLast("SessionFuzzRunTests.swift".count)) + "SessionCorpus"
    static let generatedInputs = 10_000

    static func corpus() -> [[UInt8]] {
        guard let directory = opendir(Self.corpusDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(directory) {
            // The name in place, up to its NUL: a dirent is only as long as its name (d_reclen),
            // so copying the whole struct (`entry.pointee`) reads past the end of the last one.
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self))
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted().compactMap { FTPProtocolFuzz.read("\(Self.corpusDirectory)/\($0)") }
    }

    private static func check(_ input: [UInt8]) {
        if let violation = input.withUnsafeBytes({ SessionFuzzEntry.run($0) }) {
            Issue.record("\(violation); input: \(input.map { String($0) }.joined(separator: ","))")
        }
    }

    @Test func everyInputOfTheKeptCorpusKeepsTheSessionInvariants() {
        let corpus = Self.corpus()
        #expect(corpus.count >= 20, "the corpus is missing from \(Self.corpusDirectory)")
        for input in corpus { Self.check(input) }
    }

    @Test func theSeedSessionsKeepTheSessionInvariants() {
        for input in SessionFuzzSeeds.inputs { Self.check(input) }
    }

    @Test func generatedVariantsOfTheCorpusKeepTheSessionInvariants() {
        let corpus = Self.corpus() + SessionFuzzSeeds.inputs
        var generator = SplitMix64(seed: 0x5EED_F7B1)
        for _ in 0..<Self.generatedInputs {
            var input = corpus[Int(generator.next() % UInt64(corpus.count))]
            // A few of libFuzzer's mutations: change, insert, erase bytes, splice another input.
            for _ in 0..<(1 + generator.next() % 8) {
                let position = input.isEmpty ? 0 : Int(generator.next() % UInt64(input.count))
                switch generator.next() % 4 {
                case 0 where !input.isEmpty: input[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: input.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
                case 2 where !input.isEmpty: input.remove(at: position)
                default:
                    let other = corpus[Int(generator.next() % UInt64(corpus.count))]
                    input = Array(input.prefix(position)) + other.suffix(other.count / 2)
                }
            }
            Self.check(input)
        }
    }
}

/// A small seeded generator (SplitMix64): the same inputs on every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var value = self.state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
