import Testing

@testable import FTPBalancerConfig

@Suite("The balancer's own greeting: greeting, and per_user's")
struct ConfigurationGreetingTests {
    static func file(_ extra: String) -> String {
        """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            servers: [10.0.2.11, 10.0.2.12]
        \(extra)
        """
    }

    static func service(_ yaml: String) throws -> VirtualServiceConfiguration {
        try #require(try ConfigurationLoader.parse(yaml: yaml, file: nil).virtualServices.first)
    }

    @Test("Without greeting the server greets: the balancer sends no 220 of its own.")
    func noGreetingByDefault() throws {
        let service = try Self.service(Self.file(""))
        #expect(service.greeting == nil)
        #expect(service.balancerGreeting == nil)
    }

    @Test("A greeting makes any algorithm greet with it before USER.")
    func greetingForAnyAlgorithm() throws {
        let service = try Self.service(Self.file("    algorithm: least_connections\n    greeting: \"Example FTP.\""))
        #expect(service.balancerGreeting == "Example FTP.")
        #expect(
            try ConfigurationLoader.parse(yaml: Self.file("    greeting: Hi."), file: nil).summary.contains(
                "  greeting:           220 Hi. (the balancer's; a server is connected at USER)"
            )
        )
    }

    @Test("per_user greets with per_user.greeting, or its default, and refuses a greeting beside it.")
    func perUserGreets() throws {
        #expect(try Self.service(Self.file("    algorithm: per_user")).balancerGreeting == "FTP service ready.")
        let both = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: Self.file("    algorithm: per_user\n    greeting: Hi."), file: "f.yaml")
        }
        #expect(both?.line == 7)
        #expect(
            both?.message == "algorithm per_user greets with per_user.greeting; move the text there or remove greeting"
        )
    }

    @Test("A greeting on two lines is refused as a reply text.")
    func greetingIsOneLine() {
        let error = #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.parse(yaml: Self.file("    greeting: \"a\\nb\""), file: "f.yaml")
        }
        #expect(error?.path == "virtual_services[0].greeting")
    }
}
