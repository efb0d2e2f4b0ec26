import Testing

@testable import FTPBalancerConfig

@Suite("The admin section")
struct ConfigurationAdminTests {
    static func file(_ admin: String) -> String {
        """
        \(admin)
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            servers: [10.0.2.11]
        """
    }

    func error(_ admin: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: Self.file(admin), file: "ftplb.yaml")
        }
    }

    @Test("Without an admin section the API listens on 127.0.0.1:9021 without a token, best effort.")
    func defaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.file(""), file: nil)
        #expect(
            configuration.admin
                == AdminConfiguration(listen: Endpoint(host: "127.0.0.1", port: 9021), token: nil, mustListen: false)
        )
    }

    @Test("A written listen address and token are taken, and the listener becomes required.")
    func listenAndToken() throws {
        let configuration = try ConfigurationLoader.parse(
            yaml: Self.file(#"admin: {listen: 10.0.0.1:9999, token: "0123456789abcdef-xyz"}"#),
            file: nil
        )
        #expect(configuration.admin.listen == Endpoint(host: "10.0.0.1", port: 9999))
        #expect(configuration.admin.token == "0123456789abcdef-xyz")
        #expect(configuration.admin.mustListen)
        #expect(configuration.summary.contains("admin API: 10.0.0.1:9999, token (set)"))
        #expect(!configuration.summary.contains("0123456789abcdef-xyz"))
    }

    @Test("listen: none switches the API off.")
    func none() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.file("admin: {listen: none}"), file: nil)
        #expect(configuration.admin.listen == nil)
        #expect(configuration.summary.contains("admin API: off"))
    }

    @Test("A non-loopback listener without a token is refused at the listen line.")
    func publicWithoutToken() {
        let error = self.error("admin:\n  listen: 0.0.0.0:9021")
        #expect(error?.code == .missingKey)
        #expect(
            error?.description
                == "ftplb.yaml:2:11: admin.listen: the admin API on 0.0.0.0:9021 would be reachable from other hosts "
                + "without a token; set admin.token (at least 16 characters), or listen on a loopback address such as "
                + "127.0.0.1:9021"
        )
    }

    @Test("Loopback addresses of both families need no token.")
    func loopback() throws {
        for listen in ["127.0.60.1:9021", "\"[::1]:9021\"", "\"[::ffff:127.0.0.2]:9021\""] {
            let configuration = try ConfigurationLoader.parse(yaml: Self.file("admin: {listen: \(listen)}"), file: nil)
            #expect(configuration.admin.listen != nil)
        }
        #expect(self.error("admin: {listen: \"[2001:db8::1]:9021\"}")?.code == .missingKey)
    }

    @Test("A listen address without a port, a short token and an unknown key are refused with their paths.")
    func malformed() {
        #expect(
            self.error("admin: {listen: 127.0.0.1}")?.description
                == "ftplb.yaml:1:17: admin.listen: expected ADDRESS:PORT such as 127.0.0.1:9021, or none; "
                + "found '127.0.0.1' without a port"
        )
        #expect(
            self.error("admin: {token: short}")?.description
                == "ftplb.yaml:1:16: admin.token: expected a token of 16 to 256 characters; found 5"
        )
        #expect(
            self.error(#"admin: {token: "has a space in it, sadly"}"#)?.message
                == "expected a token of 16 to 256 printable ASCII characters without spaces"
        )
        #expect(self.error("admin: {port: 9021}")?.code == .unknownKey)
    }

    @Test("The admin listener may not take a virtual service's address and port.")
    func clash() {
        #expect(
            self.error(#"admin: {listen: 10.0.0.1:21, token: "0123456789abcdef"}"#)?.message
                == "10.0.0.1:21 clashes with 10.0.0.1:21 of virtual service 'ftp'"
        )
    }
}
