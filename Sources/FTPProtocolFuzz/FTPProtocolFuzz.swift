import FTPProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if FUZZING
/// libFuzzer's entry point. SwiftPM links an executable's `main` through `--defsym`, after lld has
/// already taken libFuzzer's `FuzzerMain.o` to satisfy `main`, which then needs this symbol.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ProtocolFuzzHarness.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// The session machine's entry point (`--session`, a flag libFuzzer leaves to the program and
/// passes on to the processes it forks): a broken invariant is a crash.
func sessionFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if let violation = SessionFuzzEntry.run(UnsafeRawBufferPointer(start: data, count: size)) {
        fatalError("session machine: \(violation)")
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
#endif

@main
struct FTPProtocolFuzz {
    static func main() {
        let session = CommandLine.arguments.contains("--session")
        let arguments = CommandLine.arguments.filter { $0 != "--session" }
        if session, arguments.count == 3, arguments[1] == "write-seeds" {
            guard SessionFuzzEntry.writeSeeds(directory: arguments[2]) else {
                print("cannot write the seeds")
                exit(2)
            }
            exit(0)
        }
        if arguments.count == 4, arguments[1] == "write-seeds" {
            guard ProtocolFuzzSeeds.write(directory: arguments[2], dictionaryPath: arguments[3]) else {
                print("cannot write the seeds")
                exit(2)
            }
            exit(0)
        }
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv, session ? sessionFuzzOneInput : fuzzOneInput)
        exit(status)
        #else
        // Without libFuzzer: run the harness once over each file named, e.g. a saved crasher.
        for path in arguments.dropFirst() {
            guard let contents = Self.read(path) else {
                print("cannot read \(path)")
                exit(2)
            }
            if session {
                if let violation = contents.withUnsafeBytes({ SessionFuzzEntry.run($0) }) {
                    print("\(path): \(violation)")
                    exit(1)
                }
            } else {
                contents.withUnsafeBytes { ProtocolFuzzHarness.run($0) }
            }
            print("ok \(path) (\(contents.count) bytes)")
        }
        #endif
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            contents.append(contentsOf: chunk[0..<count])
            if count < chunk.count { break }
        }
        return contents
    }
}
