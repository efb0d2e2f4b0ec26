import Testing

@testable import FTPBalancerConfig

@Suite("The quick form's --shutdown-grace and --admin")
struct ConfigurationQuickRunFlagsTests {
    func quick() throws -> BalancerConfiguration {
        try ConfigurationLoader.quick(
            listen: "10.0.0.1:21",
            servers: ["10.0.2.11"],
            passivePorts: "40000-40999",
            advertise: nil,
            sourceAddress: nil,
            activeSourcePort: nil,
            logLevel: nil
        )
    }

    @Test("--shutdown-grace sets shutdown_grace, zero included; --admin sets a loopback listener that must open.")
    func applied() throws {
        var configuration = try self.quick()
        try ConfigurationLoader.applyQuickRunFlags(shutdownGrace: "5s", admin: "127.0.0.2:9100", to: &configuration)
        #expect(configuration.shutdownGrace == .seconds(5))
        #expect(configuration.admin.listen?.description == "127.0.0.2:9100")
        #expect(configuration.admin.mustListen)
        try ConfigurationLoader.applyQuickRunFlags(shutdownGrace: "0", admin: "none", to: &configuration)
        #expect(configuration.shutdownGrace == .zero)
        #expect(configuration.admin.listen == nil)
    }

    @Test("Without the flags the defaults stay: 30s, and the best-effort admin listener on 127.0.0.1:9021.")
    func defaults() throws {
        var configuration = try self.quick()
        try ConfigurationLoader.applyQuickRunFlags(shutdownGrace: nil, admin: nil, to: &configuration)
        #expect(configuration.shutdownGrace == .seconds(30))
        #expect(configuration.admin.listen == AdminConfiguration.defaultListen)
        #expect(!configuration.admin.mustListen)
    }

    @Test("A bad duration, an address without a port, or a listener beyond loopback is refused naming the flag.")
    func refused() throws {
        var configuration = try self.quick()
        for (grace, admin, flag, words) in [
            ("soon", nil, "--shutdown-grace", "expected a duration"),
            (nil, "127.0.0.1", "--admin", "without a port"),
            (nil, "10.0.0.1:9021", "--admin", "reachable from other hosts without a token"),
        ] as [(String?, String?, String, String)] {
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.applyQuickRunFlags(shutdownGrace: grace, admin: admin, to: &configuration)
            }
            #expect(error?.description.hasPrefix(flag) == true, "\(String(describing: error))")
            #expect(error?.description.contains(words) == true, "\(String(describing: error))")
        }
    }
}
