#if canImport(Glibc)
import Glibc
#endif

/// Weighted rendezvous (highest random weight) hashing: each key ranks every server by a score
/// computed from the key and the server's name alone. A key keeps its server while that server
/// can take sessions, and adding or removing one of N servers moves only the keys whose best
/// score changes: about 1/N of them. Stable across restarts: the hash is not seeded per process.
enum RendezvousHash {
    /// The score of `server` for `key`; the highest score wins.
    static func score(key: some Sequence<UInt8>, server: some Sequence<UInt8>, weight: Int) -> Double {
        var hash = Self.fnv1a(key)
        // A separator so that ("ab", "c") and ("a", "bc") differ.
        hash = Self.fnv1a([0], seed: hash)
        hash = Self.mix(Self.fnv1a(server, seed: hash))
        // A uniform value in (0, 1): 53 bits, never 0 and never 1.
        let unit = (Double(hash >> 11) + 0.5) / Double(UInt64(1) << 53)
        // -w / ln(u) gives each server a share of keys proportional to its weight.
        return -Double(max(weight, 1)) / Glibc.log(unit)
    }

    /// FNV-1a, 64-bit.
    static func fnv1a(_ bytes: some Sequence<UInt8>, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// splitmix64's finaliser: FNV alone leaves the high bits poorly mixed for short keys.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
