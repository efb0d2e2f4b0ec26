import FTPDataPlane
import NIOCore
import NIOPosix
import Testing

@testable import FTPBalancer

#if canImport(Glibc)
import Glibc
#endif

@Suite("Errors in operator words")
struct OperatorTextTests {
    @Test("A refused connect, as SwiftNIO's ClientBootstrap reports it, reads 'connection refused'.")
    func refusedConnect() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        // A port that was just listened on and closed refuses connections.
        let closed = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(closed.localAddress?.port)
        try await closed.close()
        do {
            _ = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
            Issue.record("the connect to a closed port succeeded")
        } catch {
            #expect(OperatorText.describe(error) == "connection refused")
        }
    }

    @Test("A port already held names the address and says who may hold it.")
    func addressInUse() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let holder = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { holder.close(promise: nil) }
        let port = try #require(holder.localAddress?.port)
        do {
            _ = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
            Issue.record("a second bind to a held port succeeded")
        } catch {
            #expect(
                OperatorText.describe(error, host: "127.0.0.1", port: port)
                    == "address 127.0.0.1:\(port) is already in use (another ftplb or FTP server?)"
            )
        }
    }

    @Test("A connect timeout says how long was waited, as the configuration writes durations.")
    func connectTimeout() {
        #expect(OperatorText.describe(ChannelError.connectTimeout(.seconds(3))) == "timed out after 3s")
        #expect(OperatorText.describe(ChannelError.connectTimeout(.milliseconds(1500))) == "timed out after 1.5s")
        #expect(OperatorText.describe(ChannelError.ioOnClosedChannel) == "connection closed")
    }

    @Test("A privileged port refused to an unprivileged process names the capability it needs.")
    func privilegedPort() throws {
        let address = try SocketAddress(ipAddress: "10.0.0.1", port: 21)
        #expect(
            OperatorText.describe(IOError(errnoCode: EACCES, reason: "bind"), address: address)
                == "permission denied: port 21 needs root or CAP_NET_BIND_SERVICE"
        )
        let high = try SocketAddress(ipAddress: "10.0.0.1", port: 2121)
        #expect(OperatorText.describe(IOError(errnoCode: EACCES, reason: "bind"), address: high) == "permission denied")
    }

    @Test("IPv6 addresses are bracketed; an address not on the host says so.")
    func addressNotAvailable() throws {
        let address = try SocketAddress(ipAddress: "2001:db8::1", port: 21)
        #expect(
            OperatorText.describe(errno: EADDRNOTAVAIL, address: address)
                == "address [2001:db8::1]:21 is not an address of this host"
        )
    }

    @Test("The descriptor limit says what to raise; other errno values read as the C library words them.")
    func otherErrnos() {
        #expect(OperatorText.describe(errno: EMFILE).hasPrefix("too many open files"))
        #expect(OperatorText.describe(errno: EMFILE).contains("LimitNOFILE"))
        #expect(OperatorText.describe(errno: ENOENT) == "no such file or directory")
        #expect(!OperatorText.describe(errno: ECONNRESET).contains("errno"))
    }

    @Test("The splice data path's system call errors read like SwiftNIO's.")
    func systemCallError() {
        #expect(OperatorText.describe(SystemCallError("accept4", errno: EMFILE)) == OperatorText.describe(errno: EMFILE))
    }

    @Test("A data path error says what failed, then why, without its code's Swift name.")
    func dataPathError() {
        let error = DataPathError(code: .bindFailed, detail: OperatorText.describe(errno: EADDRINUSE))
        #expect(error.description == "cannot open a data listener: the address is already in use (another ftplb or FTP server?)")
        #expect(!error.description.contains("bindFailed"))
    }
}
