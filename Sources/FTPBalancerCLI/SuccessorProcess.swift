import FTPBalancer
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The new `ftplb run` of an upgrade: the binary now at this process's path (a package upgrade
/// has replaced it) with the same arguments and environment, given this process's listening
/// sockets as open descriptors (named in `FTPLB_LISTENERS`), a pipe on which it says it is
/// ready to serve them, and one on which it hears that this process has stopped accepting.
/// Started by the running process itself, it stays in the same service (systemd's cgroup,
/// journal and limits).
struct SuccessorProcess {
    /// The variable that gives the successor the pipe to say it is ready on.
    static let readyVariable = "FTPLB_UPGRADE_READY_FD"
    /// The variable that gives the successor the pipe to hear "accept now" on.
    static let acceptVariable = "FTPLB_UPGRADE_ACCEPT_FD"
    /// How long a successor may take to start serving before it is stopped and the upgrade
    /// given up: it reads the configuration and opens listeners, nothing that takes long.
    static let startLimit = Duration.seconds(60)

    /// The path of this binary, read at start: after a package upgrade `/proc/self/exe` names
    /// the replaced file, `(deleted)`, while the path names the new one.
    let executable: String
    let arguments: [String]

    /// This process's binary and arguments.
    static func current() -> SuccessorProcess? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return SuccessorProcess(
            executable: String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self),
            arguments: CommandLine.arguments
        )
    }

    /// Why an upgrade did not happen, in operator words.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A successor ready to serve, waiting for `acceptNow`.
    struct Started {
        var pid: pid_t
        fileprivate var acceptPipe: CInt

        /// This process has stopped accepting on the listening sockets: the successor accepts now.
        /// The pipe stays open: its end tells the successor that this process has exited.
        func acceptNow() {
            var byte: UInt8 = 1
            _ = write(self.acceptPipe, &byte, 1)
        }
    }

    /// Starts the successor with `sockets` and waits until it is ready to serve them. On
    /// failure the successor has exited or been stopped, and this process serves on.
    func start(handing sockets: [(key: String, descriptor: CInt)]) async throws -> Started {
        let ready = try Self.makePipe()
        let accept: (read: CInt, write: CInt)
        do {
            accept = try Self.makePipe()
        } catch {
            close(ready.read)
            close(ready.write)
            throw error
        }
        defer { close(ready.read) }
        var environment = Self.environment(
            without: [ListeningSockets.environmentVariable, Self.readyVariable, Self.acceptVariable]
        )
        environment.append("\(ListeningSockets.environmentVariable)=\(ListeningSockets.format(sockets))")
        environment.append("\(Self.readyVariable)=\(ready.write)")
        environment.append("\(Self.acceptVariable)=\(accept.read)")
        let pid: pid_t
        do {
            pid = try self.spawn(
                keeping: sockets.map(\.descriptor) + [ready.write, accept.read],
                environment: environment
            )
        } catch {
            for end in [ready.write, accept.read, accept.write] { close(end) }
            throw error
        }
        close(ready.write)
        close(accept.read)
        do {
            try await self.waitUntilReady(pid, readEnd: ready.read)
        } catch {
            close(accept.write)
            throw error
        }
        return Started(pid: pid, acceptPipe: accept.write)
    }

    /// A pipe whose ends close on exec; Glibc's pipe2 is not visible to Swift, and nothing
    /// else starts processes meanwhile.
    private static func makePipe() throws -> (read: CInt, write: CInt) {
        var ends: [CInt] = [0, 0]
        guard pipe(&ends) == 0 else {
            throw Failure(description: "cannot make a pipe: \(String(cString: strerror(errno)))")
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    private func spawn(keeping descriptors: [CInt], environment: [String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 onto itself clears close-on-exec in the child only (POSIX 2024, glibc 2.29).
        for descriptor in descriptors {
            posix_spawn_file_actions_adddup2(&actions, descriptor, descriptor)
        }
        let argv = self.arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, self.executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw Failure(description: "cannot start \(self.executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for the successor's one byte on the pipe; its end of file means it has exited.
    private func waitUntilReady(_ pid: pid_t, readEnd: CInt) async throws {
        switch await Self.readByte(readEnd, within: Self.startLimit) {
        case .some(true):
            return
        case .some(false):
            throw Failure(description: "the new process \(pid) \(Self.reap(pid)) before serving (its log says why)")
        case .none:
            kill(pid, SIGKILL)
            throw Failure(
                description: "the new process \(pid) was not ready after \(Self.startLimit.components.seconds)s; "
                    + "stopped it (\(Self.reap(pid)))"
            )
        }
    }

    /// True for a byte read from `descriptor`, false for its end of file, nil if neither came
    /// within `limit`: polled, so that no thread blocks.
    static func readByte(_ descriptor: CInt, within limit: Duration) async -> Bool? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            var poll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&poll, 1, 0) > 0 {
                var byte: UInt8 = 0
                return read(descriptor, &byte, 1) == 1
            }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                return nil  // cancelled: the process is stopping
            }
        }
        return nil
    }

    /// How the successor ended, once it has.
    private static func reap(_ pid: pid_t) -> String {
        var status: CInt = 0
        guard waitpid(pid, &status, 0) == pid else { return "ended" }
        if status & 0x7f == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "was killed by signal \(status & 0x7f)"
    }

    private static func environment(without names: [String]) -> [String] {
        var entries: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if !names.contains(where: { text.hasPrefix($0 + "=") }) { entries.append(text) }
            pointer += 1
        }
        return entries
    }
}

/// The successor's side of an upgrade: says on one pipe that it is ready, and accepts once the
/// predecessor says on the other that it has stopped accepting on the listening sockets.
struct PredecessorHandshake {
    let readyPipe: CInt
    let acceptPipe: CInt

    /// The pipes, taken out of the environment; nil for a process not started by an upgrade.
    static func takeFromEnvironment() -> PredecessorHandshake? {
        let ready = Self.take(SuccessorProcess.readyVariable)
        let accept = Self.take(SuccessorProcess.acceptVariable)
        guard let ready, let accept else { return nil }
        return PredecessorHandshake(readyPipe: ready, acceptPipe: accept)
    }

    private static func take(_ variable: String) -> CInt? {
        guard let value = getenv(variable) else { return nil }
        let descriptor = CInt(String(cString: value))
        unsetenv(variable)
        guard let descriptor, descriptor > 2 else { return nil }
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return descriptor
    }

    /// The listeners are open, not accepting yet: the predecessor may stop accepting.
    func ready() {
        var byte: UInt8 = 1
        _ = write(self.readyPipe, &byte, 1)
        close(self.readyPipe)
    }

    /// Waits for the predecessor's word (or its end: it has exited), then lets the balancer's
    /// sockets accept; then waits for the predecessor's exit (the pipe's end of file), within
    /// `drainLimit`. Bounded: a predecessor that hangs does not keep this process from serving.
    func followPredecessor(_ balancer: Balancer, drainLimit: Duration, logger: Logger) async {
        defer { close(self.acceptPipe) }
        let word = await SuccessorProcess.readByte(self.acceptPipe, within: SuccessorProcess.startLimit * 2)
        if word == nil {
            logger.warning("upgrade: the previous process did not say it stopped accepting; accepting now")
        }
        balancer.listeningSockets.startAccepting()
        if word == true {
            guard await SuccessorProcess.readByte(self.acceptPipe, within: drainLimit) != nil else { return }
        }
        balancer.predecessorExited()
    }
}
