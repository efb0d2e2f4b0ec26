import Testing

@testable import FTPBalancerConfig

@Suite("The quick command-line form")
struct ConfigurationQuickFormTests {
    /// The error the quick form throws for these flags; fails the test if they are accepted.
    func error(
        listen: String = "10.0.0.1:21",
        servers: [String] = ["10.0.2.11"],
        passivePorts: String = "40000-40999",
        advertise: String? = nil,
        sourceAddress: String? = nil,
        activeSourcePort: Int? = nil,
        logLevel: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.quick(
                listen: listen,
                servers: servers,
                passivePorts: passivePorts,
                advertise: advertise,
                sourceAddress: sourceAddress,
                activeSourcePort: activeSourcePort,
                logLevel: logLevel
            )
        }
    }

    @Test("Valid flags make one virtual service named default.")
    func valid() throws {
        let configuration = try ConfigurationLoader.quick(
            listen: "0.0.0.0:2121",
            servers: ["10.0.2.11:21", "10.0.2.12"],
            passivePorts: "50000-50099",
            advertise: "192.0.2.10",
            sourceAddress: "10.0.2.1",
            activeSourcePort: 0,
            logLevel: "warning"
        )
        let expected = VirtualServiceConfiguration(
            name: "default",
            listen: Endpoint(host: "0.0.0.0", port: 2121),
            advertisedAddress: "192.0.2.10",
            passivePorts: 50000...50099,
            sourceAddress: "10.0.2.1",
            activeSourcePort: 0,
            servers: [
                ServerConfiguration(name: "10.0.2.11:21", address: Endpoint(host: "10.0.2.11", port: 21)),
                ServerConfiguration(name: "10.0.2.12", address: Endpoint(host: "10.0.2.12", port: 21)),
            ]
        )
        #expect(configuration == BalancerConfiguration(logLevel: .warning, virtualServices: [expected]))
    }

    @Test("A bad passive range names the --passive-ports flag and no file or line.")
    func badPassivePorts() {
        let error = self.error(passivePorts: "80-90")
        #expect(error?.line == nil)
        #expect(
            error?.description
                == "--passive-ports: expected FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, such as 40000-40999; found '80-90'"
        )
    }

    @Test("A wildcard --listen without --advertise asks for --advertise.")
    func wildcardWithoutAdvertise() {
        let error = self.error(listen: "[::]:21", servers: ["[2001:db8::11]"])
        #expect(error?.code == .missingKey)
        #expect(
            error?.description.hasPrefix("--advertise: required because --listen [::]:21 is a wildcard address") == true
        )
    }

    @Test("Each flag's mistakes are reported against that flag.")
    func flagNames() {
        #expect(self.error(listen: "ftp.example.com")?.path == "--listen")
        #expect(self.error(servers: [])?.description == "--server: at least one server is required")
        #expect(
            self.error(servers: ["10.0.2.11", "10.0.2.11:21"])?.description
                == "--server: server 10.0.2.11:21 appears twice in the pool"
        )
        #expect(self.error(advertise: "0.0.0.0")?.path == "--advertise")
        #expect(
            self.error(sourceAddress: "2001:db8::1")?.description.hasPrefix(
                "--server: server 10.0.2.11:21 is IPv4 but --source-address"
            ) == true
        )
        #expect(self.error(sourceAddress: "10.0.2.256")?.path == "--source-address")
        #expect(self.error(activeSourcePort: 70000)?.path == "--active-source-port")
        #expect(self.error(logLevel: "loud")?.path == "--log-level")
    }
}
