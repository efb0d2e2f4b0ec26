import CoreMetrics
import FTPBalancerConfig
import InMemoryLogging
import Logging
import MetricsTestKit
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import FTPBalancer
@testable import FTPBalancerAdmin

@Suite struct AdminAPIAuthorizationLimitTests {
    static let token = AdminAPITests.token

    static func api(logs: InMemoryLogHandler, metrics: TestMetrics) -> AdminAPI {
        let configuration = BalancerConfiguration(
            virtualServices: [
                VirtualServiceConfiguration(
                    name: "ftp",
                    listen: Endpoint(host: "127.0.0.1", port: 2121),
                    advertisedAddress: "127.0.0.1",
                    passivePorts: 40000...40010,
                    servers: [ServerConfiguration(name: "one", address: Endpoint(host: "192.0.2.1", port: 21))]
                )
            ]
        )
        let balancer = Balancer(
            configuration: configuration,
            group: MultiThreadedEventLoopGroup.singleton,
            metrics: BalancerMetrics(factory: metrics),
            logger: Logger(label: "test")
        )
        return AdminAPI(
            balancer: balancer,
            token: Self.token,
            reload: { .refused("test: refused") },
            authorizationLimit: AuthorizationFailureLimit(maximumFailures: 2, window: .seconds(60)),
            logger: Logger(label: "test") { _ in logs }
        )
    }

    static func request(_ token: String?, from peer: String, path: String = "/api/v1/stats") -> AdminRequest {
        AdminRequest(method: .GET, uri: path, authorization: token.map { "Bearer \($0)" }, peer: peer)
    }

    @Test func afterTooManyWrongTokensAnAddressGets429WithRetryAfterEvenWithTheRightToken() async {
        let api = Self.api(logs: InMemoryLogHandler(), metrics: TestMetrics())
        let peer = "192.0.2.7:40001"
        #expect(await api.respond(to: Self.request("wrong-token-0123456", from: peer)).status == .unauthorized)
        #expect(await api.respond(to: Self.request(nil, from: "192.0.2.7:40002")).status == .unauthorized)
        let limited = await api.respond(to: Self.request(Self.token, from: "192.0.2.7:40003"))
        #expect(limited.status == .tooManyRequests)
        let retryAfter = limited.headers.first { $0.0 == "Retry-After" }.flatMap { Int($0.1) }
        #expect(retryAfter.map { (59...60).contains($0) } == true)
        #expect(await api.respond(to: Self.request(Self.token, from: "192.0.2.8:40004")).status == .ok)
        #expect(await api.respond(to: Self.request(nil, from: peer, path: "/healthz")).status != .tooManyRequests)
    }

    @Test func theRefusalsAreLoggedOnceAWindowAndCountedEachTime() async throws {
        let logs = InMemoryLogHandler()
        let metrics = TestMetrics()
        let api = Self.api(logs: logs, metrics: metrics)
        for port in 1...5 {
            _ = await api.respond(to: Self.request("wrong-token-0123456", from: "192.0.2.7:\(port)"))
        }
        let limitedLines = logs.entries.filter { $0.message.description.hasPrefix("admin API: too many requests") }
        #expect(limitedLines.count == 1)
        #expect(limitedLines.first?.level == .warning)
        let refusedLines = logs.entries.filter { $0.message.description.hasSuffix("missing or wrong token") }
        #expect(refusedLines.count == 2)
        let limited = try metrics.expectCounter("ftplb_admin_requests_refused_total", [("reason", "rate_limited")])
        let wrong = try metrics.expectCounter("ftplb_admin_requests_refused_total", [("reason", "wrong_token")])
        #expect(limited.totalValue == 3 && wrong.totalValue == 2)
    }
}
