#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The session harness as the entry point and the tests call it. It needs FTPBalancer built
/// testable: a debug build, or the libFuzzer build with -enable-testing; a plain release build
/// has the protocol harness only.
enum SessionFuzzEntry {
    /// Runs one input; the broken invariant, if any.
    static func run(_ bytes: UnsafeRawBufferPointer) -> String? {
        #if DEBUG || FUZZING
        do {
            try SessionFuzzHarness.run(bytes)
            return nil
        } catch {
            return "\(error)"
        }
        #else
        return "the session harness needs a debug build, or -DFUZZING -enable-testing"
        #endif
    }

    /// Writes one file per seed into `directory`.
    static func writeSeeds(directory: String) -> Bool {
        #if DEBUG || FUZZING
        for (number, seed) in SessionFuzzSeeds.inputs.enumerated() {
            guard let file = fopen("\(directory)/session-seed-\(number)", "wb") else { return false }
            defer { fclose(file) }
            guard fwrite(seed, 1, seed.count, file) == seed.count else { return false }
        }
        return true
        #else
        return false
        #endif
    }
}

#if DEBUG || FUZZING
/// Whole sessions to start from, written as events (`SessionFuzzHarness.event`'s numbers) with
/// lines named by their text in `SessionFuzzLines`.
enum SessionFuzzSeeds {
    static var inputs: [[UInt8]] {
        [
            // Login, a passive download, QUIT.
            [0] + Self.connect + Self.server("220 Ready.") + Self.client("USER anonymous")
                + Self.server("331 Password required.") + Self.client("PASS guest") + Self.server("230 Login successful.")
                + Self.client("PASV") + Self.server("227 Entering Passive Mode (10,0,2,1,156,64).") + [9, 1, 2, 3, 4]
                + [13, 1] + Self.client("RETR file") + Self.server("150 Opening data connection.") + [14]
                + Self.server("226 Transfer complete.") + Self.client("QUIT") + Self.server("221 Goodbye.") + [18, 1],
            // per_user, an active upload under the passive policy, a shutdown during the transfer.
            [1 | 1 << 3] + Self.client("USER anonymous") + Self.connect + Self.server("220 Ready.")
                + Self.server("331 Password required.") + Self.client("PASS guest") + Self.server("230 Login successful.")
                + Self.client("PORT 198,51,100,7,19,137") + Self.server("500 EPSV not understood.")
                + Self.server("227 Entering Passive Mode (10,0,2,1,4,1)") + [9, 0, 0, 0, 0] + [13, 0]
                + Self.client("STOR file") + [17, 0] + Self.server("150 Opening data connection.") + [14]
                + Self.server("226 Transfer complete.") + [19],
            // IPv6, EPSV under the active policy, the idle timeout, FEAT with TLS lines.
            [2 | 4 | 2 << 3] + Self.connect + Self.server("220-Welcome") + Self.server("220 Ready.")
                + Self.client("FEAT") + Self.server("211-Features:") + Self.server(" AUTH TLS") + Self.server("211 End")
                + Self.client("EPSV") + [9, 7, 7, 8, 8] + Self.server("200 PORT command successful.") + [16, 200, 0]
                + [15, 0, 0] + [19],
            // A server that never greets, the next that refuses, none left.
            [0] + Self.connect + Self.client("NOOP") + [15, 1, 0] + [8, 1] + [8, 2],
        ]
    }

    private static let connect: [UInt8] = [8, 0]

    private static func client(_ text: String) -> [UInt8] {
        [0, UInt8(SessionFuzzLines.client.firstIndex(of: text)!)]
    }

    private static func server(_ text: String) -> [UInt8] {
        [3, UInt8(SessionFuzzLines.server.firstIndex(of: text)!)]
    }
}
#endif
