import Testing

@testable import FTPBalancerConfig

/// The error that parsing `yaml` as `ftplb.yaml` throws; fails the test if it parses.
func configurationError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
        try ConfigurationLoader.parse(yaml: yaml, file: "ftplb.yaml")
    }
}
