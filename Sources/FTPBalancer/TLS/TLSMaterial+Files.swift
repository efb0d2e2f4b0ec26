#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import FTPBalancerConfig

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
        let bytes: [UInt8]
        do {
            bytes = try SmallFile.read(path, limit: Self.fileSizeLimit)
        } catch {
            throw failure(
                error.tooLarge ? "it is larger than \(Self.fileSizeLimit / 1024) KiB, too large for certificates or a key" : error.reason
            )
        }
        guard !bytes.isEmpty else {
            throw failure("the file is empty")
        }
        return bytes
    }
}
