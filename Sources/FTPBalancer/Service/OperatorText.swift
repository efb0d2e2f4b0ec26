import FTPBalancerConfig
import FTPDataPlane
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// What an error means, in the words an operator reads in a log line, `show pools` or a
/// start-up failure: `connection refused`, `timed out after 3s`, `address 10.0.0.1:21 is already
/// in use (another ftplb or FTP server?)`. SwiftNIO's and errno's own texts name system calls,
/// descriptors and types; none of that reaches an operator.
package enum OperatorText {
    /// `error` in operator words; `address` is what was being connected to or bound, where
    /// the words name it.
    package static func describe(_ error: any Error, address: SocketAddress? = nil) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first {
                return Self.describe(first.error, address: first.target)
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return "cannot resolve \(error.host)"
            }
            return "cannot connect to \(error.host):\(error.port)"
        case let error as IOError:
            return Self.describe(errno: error.errnoCode, address: address)
        case let error as ChannelError:
            return Self.describe(error)
        #if os(Linux)
        case let error as SystemCallError:
            return Self.describe(errno: error.errno, address: address)
        #endif
        case let error as DataPathError:
            return error.description
        case let error as BalancerError:
            return error.message
        case let error as NIOSSLError:
            return TLSErrorText.describe(error)
        case let error as BoringSSLError:
            return TLSErrorText.describe(error)
        case is NIOSSLCloseTimedOutError:
            return "the peer did not end TLS in time"
        default:
            return "\(error)"
        }
    }

    /// `error` of a bind or connect to `host`:`port`.
    package static func describe(_ error: any Error, host: String, port: Int) -> String {
        Self.describe(error, address: try? SocketAddress(ipAddress: host, port: port))
    }

    /// errno in operator words, with what to do where there is one thing to do.
    package static func describe(errno code: CInt, address: SocketAddress? = nil) -> String {
        let shown = address.map { "address \(Self.text($0))" } ?? "the address"
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset by the peer"
        case EPIPE: return "connection closed by the peer"
        case ETIMEDOUT: return "timed out"
        case EHOSTUNREACH: return "no route to host"
        case ENETUNREACH: return "network unreachable"
        case EADDRINUSE: return "\(shown) is already in use (another ftplb or FTP server?)"
        case EADDRNOTAVAIL: return "\(shown) is not an address of this host"
        case EACCES where (address?.port ?? 1024) < 1024:
            return "permission denied: port \(address?.port ?? 0) needs root or CAP_NET_BIND_SERVICE"
        case EACCES: return "permission denied"
        case EPERM: return "operation not permitted"
        case EMFILE, ENFILE:
            return "too many open files: the descriptor limit is reached (raise LimitNOFILE or ulimit -n)"
        case ENOBUFS, ENOMEM: return "out of memory in the kernel"
        default: return String(cString: strerror(code)).lowercased()
        }
    }

    private static func describe(_ error: ChannelError) -> String {
        switch error {
        case .connectTimeout(let amount):
            return "timed out after \(Duration.nanoseconds(amount.nanoseconds).shortText)"
        case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed:
            return "connection closed"
        default:
            return "\(error)"
        }
    }

    /// `10.0.0.1:21`, `[2001:db8::1]:21`: addresses as the configuration writes them.
    private static func text(_ address: SocketAddress) -> String {
        guard let host = address.ipAddress, let port = address.port else {
            return "\(address)"
        }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
