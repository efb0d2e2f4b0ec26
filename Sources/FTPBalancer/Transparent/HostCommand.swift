#if canImport(Glibc)
import Glibc
#endif

/// Runs a host tool (`ip`, `nft`, `sysctl`) found on PATH, without a shell, and collects what it
/// printed on stdout and stderr. Bounded in time: a tool that hangs is killed.
package enum HostCommand {
    package struct Result: Sendable {
        package var status: Int32
        package var output: String
    }

    package struct Failure: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    package static let defaultTimeoutMilliseconds: Int32 = 10_000
    private static let outputLimit = 1 << 20

    package static func run(_ argv: [String], timeoutMilliseconds: Int32 = Self.defaultTimeoutMilliseconds) -> Swift.Result<Result, Failure> {
        guard let program = argv.first else { return .failure(Failure(description: "empty command")) }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            return .failure(Failure(description: "\(program): pipe: \(String(cString: strerror(errno)))"))
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        posix_spawn_file_actions_addclose(&actions, readEnd)

        var arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, &arguments, environ)
        close(writeEnd)
        guard spawned == 0 else {
            let reason = spawned == ENOENT ? "not found on PATH" : String(cString: strerror(spawned))
            return .failure(Failure(description: "cannot run `\(program)`: \(reason)"))
        }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var finished = false
        var waitLeft = timeoutMilliseconds
        while !finished && waitLeft > 0 {
            var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let started = Self.milliseconds()
            let ready = poll(&poller, 1, waitLeft)
            waitLeft -= Int32(clamping: Self.milliseconds() - started)
            guard ready > 0 else {
                if ready < 0 && errno != EINTR { break }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                finished = true
                break
            }
            if output.count < Self.outputLimit {
                output.append(contentsOf: buffer[0..<count])
            }
        }
        if !finished {
            kill(pid, SIGKILL)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard finished else {
            return .failure(Failure(description: "`\(argv.joined(separator: " "))` did not finish in \(timeoutMilliseconds / 1000) s"))
        }
        let text = String(decoding: output, as: UTF8.self)
        // WIFEXITED/WEXITSTATUS are macros Swift cannot see.
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success(Result(status: exitStatus, output: text))
    }

    /// The first bytes of a small file such as a /proc/sys switch, or nil if it cannot be read.
    package static func readFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    private static func milliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
