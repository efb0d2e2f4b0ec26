import Testing

@testable import FTPBalancerConfig

@Suite("listen_freebind")
struct ConfigurationFreebindTests {
    static func file(_ line: String) -> String {
        """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40099
        \(line)
            servers: [10.0.2.11:21]
        """
    }

    @Test("It is off unless asked for, and true turns it on for that service.")
    func onlyWhenAsked() throws {
        let plain = try ConfigurationLoader.parse(yaml: Self.file(""), file: nil)
        #expect(plain.virtualServices[0].listenFreebind == false)
        let freebind = try ConfigurationLoader.parse(yaml: Self.file("    listen_freebind: true"), file: nil)
        #expect(freebind.virtualServices[0].listenFreebind == true)
        #expect(freebind.virtualServices[0].summaryLines.contains { $0.hasPrefix("  listen freebind:    yes") })
    }

    @Test("Anything but true or false is refused with its line and path.")
    func onlyBooleans() {
        #expect {
            try ConfigurationLoader.parse(yaml: Self.file("    listen_freebind: yes"), file: "f.yaml")
        } throws: { error in
            "\(error)"
                == "f.yaml:5:22: virtual_services[0].listen_freebind: expected true or false (yes, no, on and off are not accepted); found 'yes'"
        }
    }
}
