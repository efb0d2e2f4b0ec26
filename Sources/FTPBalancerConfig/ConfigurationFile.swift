#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a configuration file into text, with the operating system's own reason when it cannot,
/// and a size limit so that pointing `--config` at a disk image fails fast.
enum ConfigurationFile {
    static let sizeLimit = 1 << 20

    static func read(path: String) throws(ConfigurationError) -> String {
        func failure(_ reason: String) -> ConfigurationError {
            ConfigurationError(code: .fileUnreadable, file: path, path: "", message: "cannot read the file: \(reason)")
        }
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path, limit: Self.sizeLimit)
        } catch {
            throw failure(error.tooLarge ? "it is larger than \(Self.sizeLimit / 1024) KiB, too large for a configuration" : error.reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("it is not UTF-8 text")
        }
        return text
    }
}

/// A whole small file's bytes (configurations, certificates, keys), or the operating system's
/// reason it cannot be read; a file over `limit` fails fast.
package enum SmallFile {
    package struct Failure: Error {
        package var reason: String
        package var tooLarge = false
    }

    package static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        guard let handle = fopen(path, "rb") else {
            throw Failure(reason: String(cString: strerror(errno)))
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= limit else { throw Failure(reason: "too large", tooLarge: true) }
            if count < chunk.count {
                // A short read is either the end or an error such as EISDIR; only ferror tells.
                if ferror(handle) != 0 {
                    throw Failure(reason: String(cString: strerror(errno)))
                }
                return bytes
            }
        }
    }
}
