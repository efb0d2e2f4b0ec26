// swift-tools-version:6.1
import PackageDescription

// The git revision `ftplb --version` prints: packaging/build-deb.sh exports FTPLB_REVISION; a
// plain `swift build` prints "revision unknown". Only letters, digits, '.', '-' and '+' are
// kept, since the value becomes a C string literal.
let revision = String(
    (Context.environment["FTPLB_REVISION"] ?? "").filter {
        $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0))
    }
)

let package = Package(
    name: "FTPBalancer",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ftplb", targets: ["FTPBalancerCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Exact: TLSSessionBinding reads two of its private properties (checked at start-up).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
    ],
    targets: [
        .target(
            name: "FTPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "FTPBalancerConfig",
            dependencies: [
                "FTPProtocol",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // What Swift's Glibc module leaves out, for the splice(2) data path.
        .target(name: "CSplice"),
        // The splice(2) relay: epoll threads, relays, pipes, timers, sockets. No NIO, no FTP, no
        // logging: it reports events, and the core decides and says what they mean.
        .target(name: "FTPDataPlane", dependencies: ["CSplice"]),
        .target(
            name: "CBuildRevision",
            cSettings: revision.isEmpty ? [] : [.define("FTPLB_REVISION", to: "\"\(revision)\"")]
        ),
        .target(
            name: "FTPBalancer",
            dependencies: [
                "CSplice",
                "FTPDataPlane",
                "FTPProtocol",
                "FTPBalancerConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .target(
            name: "FTPBalancerAdmin",
            dependencies: [
                "FTPBalancer",
                "FTPBalancerConfig",
                "FTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The status page's script and style, as files a JavaScript or CSS tool can read.
            resources: [.embedInCode("Resources/status.js"), .embedInCode("Resources/status.css")]
        ),
        .executableTarget(
            name: "FTPBalancerCLI",
            dependencies: [
                "CBuildRevision",
                "FTPBalancer",
                "FTPBalancerAdmin",
                "FTPBalancerConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // bench/relay_cpu.py: the plane's relay alone, forwarding ports as the minimal C relay does.
        .executableTarget(name: "FTPDataPlaneBench", dependencies: ["FTPDataPlane"]),
        // libFuzzer targets: the protocol parsers, and with --session the control session's
        // state machine (README, Reliability).
        .executableTarget(
            name: "FTPProtocolFuzz",
            dependencies: ["FTPBalancer", "FTPProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "FTPProtocolTests",
            dependencies: [
                "FTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        // The session fuzz harness over the kept corpus and a fixed run of generated inputs.
        .testTarget(
            name: "FTPProtocolFuzzTests",
            dependencies: ["FTPProtocolFuzz", "FTPBalancer", "FTPProtocol"],
            exclude: ["SessionCorpus"]
        ),
        .testTarget(
            name: "FTPDataPlaneTests",
            dependencies: ["CSplice", "FTPDataPlane"]
        ),
        .testTarget(
            name: "FTPBalancerConfigTests",
            dependencies: ["FTPBalancerConfig", "FTPProtocol"]
        ),
        .testTarget(
            name: "FTPBalancerAdminTests",
            dependencies: [
                "FTPBalancerAdmin",
                "FTPBalancer",
                "FTPBalancerConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "FTPBalancerTests",
            dependencies: [
                "CSplice",
                "FTPBalancer",
                "FTPBalancerConfig",
                "FTPDataPlane",
                "FTPProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
