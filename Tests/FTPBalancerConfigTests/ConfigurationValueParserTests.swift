import FTPProtocol
import Testing

@testable import FTPBalancerConfig

@Suite("Configuration value forms")
struct ConfigurationValueParserTests {
    @Test(
        "IPv4 literals are exactly four decimal octets from 0 to 255.",
        arguments: [
            ("10.0.0.1", true), ("0.0.0.0", true), ("255.255.255.255", true),
            ("256.0.0.1", false), ("10.0.0", false), ("10.0.0.1.", false), ("+10.0.0.1", false),
            ("10.0.0.01", false), ("10.0.0.0x1", false), ("", false), ("ftp.example.com", false),
        ]
    )
    func ipv4(text: String, valid: Bool) {
        #expect((IPAddress.parseIPv4(text) != nil) == valid)
    }

    @Test("IPv6 literals are compared by value and keep their written text.")
    func ipv6() throws {
        let short = try #require(IPAddress("::1"))
        let long = try #require(IPAddress("0:0:0:0:0:0:0:1"))
        #expect(short == long)
        #expect(long.text == "0:0:0:0:0:0:0:1")
        #expect(IPAddress("0::0")?.isWildcard == true)
        #expect(IPAddress("fe80::1%eth0") == nil)
        #expect(IPAddress("2001:db8::g") == nil)
    }

    @Test(
        "Endpoints take an optional port that defaults to 21 and need brackets for IPv6.",
        arguments: [
            ("10.0.0.1", Endpoint(host: "10.0.0.1", port: 21)),
            ("10.0.0.1:2121", Endpoint(host: "10.0.0.1", port: 2121)),
            ("[2001:db8::1]", Endpoint(host: "2001:db8::1", port: 21)),
            ("[::1]:990", Endpoint(host: "::1", port: 990)),
        ]
    )
    func validEndpoints(text: String, endpoint: Endpoint) throws {
        #expect(try ConfigurationValueParser.endpoint(text).endpoint == endpoint)
    }

    @Test(
        "Malformed endpoints are refused.",
        arguments: [
            "::1", "2001:db8::1:21", "[10.0.0.1]:21", "[::1", "[::1]21", "10.0.0.1:", "10.0.0.1:0",
            "10.0.0.1:65536", "10.0.0.1:+21", "localhost:21", "",
        ]
    )
    func invalidEndpoints(text: String) {
        #expect(throws: ValueProblem.self) { try ConfigurationValueParser.endpoint(text) }
    }

    @Test(
        "Durations are seconds, or a number with ms, s, m or h.",
        arguments: [
            ("30", Duration.seconds(30)), ("1.5", .milliseconds(1500)), ("500ms", .milliseconds(500)),
            ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)), ("0.25m", .seconds(15)),
            ("0.001ms", .microseconds(1)),
        ]
    )
    func validDurations(text: String, duration: Duration) throws {
        #expect(try ConfigurationValueParser.duration(text) == duration)
    }

    @Test(
        "Zero, negative and malformed durations are refused.",
        arguments: [
            "0", "0s", "-5s", "5 s", "5d", "1m30s", ".5s", "5.s", "s", "", "1e3",
        ]
    )
    func invalidDurations(text: String) {
        #expect(throws: ValueProblem.self) { try ConfigurationValueParser.duration(text) }
    }

    @Test(
        "Passive ranges run from at least 1024 up to at most 65535, first not after last.",
        arguments: [
            ("1024-1024", true), ("40000-40999", true), ("65535-65535", true),
            ("1023-2000", false), ("2000-1999", false), ("40000-65536", false), ("40000", false),
            ("40000--40999", false), ("40000 - 40999", false),
        ]
    )
    func portRanges(text: String, valid: Bool) {
        #expect(((try? ConfigurationValueParser.portRange(text)) != nil) == valid)
    }

    @Test("Error descriptions leave out the parts that are unknown.")
    func errorDescriptions() {
        let full = ConfigurationError(
            code: .invalidValue,
            file: "a.yaml",
            line: 3,
            column: 7,
            path: "log_level",
            message: "m"
        )
        #expect(full.description == "a.yaml:3:7: log_level: m")
        let noFile = ConfigurationError(code: .invalidValue, line: 3, path: "log_level", message: "m")
        #expect(noFile.description == "3: log_level: m")
        let flag = ConfigurationError(code: .invalidValue, path: "--listen", message: "m")
        #expect(flag.description == "--listen: m")
        let file = ConfigurationError(code: .fileUnreadable, file: "a.yaml", path: "", message: "m")
        #expect(file.description == "a.yaml: m")
    }
}
