import Testing

@testable import FTPBalancerConfig

@Suite("The data_path section")
struct ConfigurationDataPathTests {
    static func file(_ dataPath: String) -> String {
        """
        \(dataPath)
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            servers: [10.0.2.11]
        """
    }

    func error(_ dataPath: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: Self.file(dataPath), file: "ftplb.yaml")
        }
    }

    @Test("Without a data_path section data connections are spliced through 1 MiB pipes on one thread.")
    func defaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.file(""), file: nil)
        #expect(configuration.dataPath == DataPathConfiguration(relay: .splice, pipeSize: 1 << 20, threads: 1))
    }

    @Test("relay, pipe_size in bytes or KiB/MiB, and threads are taken as written.")
    func written() throws {
        let copy = try ConfigurationLoader.parse(yaml: Self.file("data_path: {relay: copy}"), file: nil)
        #expect(copy.dataPath.relay == .copy)
        let sized = try ConfigurationLoader.parse(
            yaml: Self.file("data_path:\n  relay: splice\n  pipe_size: 256KiB\n  threads: 2"),
            file: nil
        )
        #expect(sized.dataPath == DataPathConfiguration(relay: .splice, pipeSize: 262_144, threads: 2))
        #expect(try ConfigurationValueParser.pipeSize("4096") == 4096)
        #expect(try ConfigurationValueParser.pipeSize("1024MiB") == 1 << 30)
        #expect(try ConfigurationValueParser.pipeSize("1073741824") == 1 << 30)
    }

    @Test("A pipe size that is not a power of two, or below a page, or above 1 GiB, is refused at its line.")
    func badPipeSize() {
        for size in ["100000", "2048", "2048MiB", "1MB", "-4096", "0", "4097KiB"] {
            let error = self.error("data_path:\n  pipe_size: \(size)")
            #expect(error?.code == .invalidValue, "\(size)")
            #expect(
                error?.description
                    == "ftplb.yaml:2:14: data_path.pipe_size: expected a power of two from 4096 to 1073741824 bytes "
                    + "(or 4KiB to 1024MiB); found '\(size)'",
                "\(size)"
            )
        }
    }

    @Test("An unknown relay, a thread count other than 1 or 2, and an unknown key are refused at their line.")
    func otherErrors() {
        #expect(
            self.error("data_path:\n  relay: sendfile")?.description
                == "ftplb.yaml:2:10: data_path.relay: expected one of splice, copy; found 'sendfile'"
        )
        #expect(
            self.error("data_path:\n  threads: 3")?.description
                == "ftplb.yaml:2:12: data_path.threads: expected 1 or 2 threads; found '3'"
        )
        #expect(self.error("data_path:\n  pipes: 2")?.code == .unknownKey)
    }
}
