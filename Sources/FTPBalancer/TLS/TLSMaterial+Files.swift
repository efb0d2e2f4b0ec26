#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension TLSMaterial {
    /// Larger than any certificate chain; a path to a disk image fails fast.
    static let fileSizeLimit = 1 << 20

    /// `2001-01-01 00:00:00 UTC`.
    static func utcText(_ time: time_t) -> String {
        var seconds = time
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of `path`, or why they cannot be had.
    static func read(_ path: String) throws(TLSMaterialError) -> [UInt8] {
        func failure(_ reason: String) -> TLSMaterialError {
            TLSMaterialError(file: path, problem: "cannot read the file: \(reason)")
        }
        guard let handle = fopen(path, "rb") else {
            throw failure(String(cString: strerror(errno)))
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= Self.fileSizeLimit else {
                throw failure("it is larger than \(Self.fileSizeLimit / 1024) KiB, too large for certificates or a key")
            }
            if count < chunk.count {
                // A short read is the end or an error such as EISDIR; only ferror tells.
                if ferror(handle) != 0 {
                    throw failure(String(cString: strerror(errno)))
                }
                break
            }
        }
        guard !bytes.isEmpty else {
            throw failure("the file is empty")
        }
        return bytes
    }
}
