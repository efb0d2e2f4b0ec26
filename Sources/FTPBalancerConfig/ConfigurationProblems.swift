/// The errors of one configuration, gathered so that `check-config` reports all it can find in
/// one run: each part (a top-level section, a virtual service) is read on its own, and a part
/// with an error is left out of the rest rather than stopping the read.
struct ConfigurationProblems {
    private(set) var errors: [ConfigurationError] = []

    var isEmpty: Bool { self.errors.isEmpty }

    /// `read`'s value, or nil with its error kept.
    mutating func collect<T>(_ read: () throws(ConfigurationError) -> T) -> T? {
        do {
            return try read()
        } catch {
            self.errors.append(error)
            return nil
        }
    }

    mutating func append(_ error: ConfigurationError) {
        self.errors.append(error)
    }

    /// Throws the first error found, carrying the others, if there is any.
    func check() throws(ConfigurationError) {
        guard var first = self.errors.first else { return }
        first.others = Array(self.errors.dropFirst())
        throw first
    }
}

extension ConfigurationError {
    /// The first of `errors`, carrying the others, as `check-config` reports them; nil for none.
    /// For checks made outside this module, such as the TLS files'.
    package static func gathered(_ errors: [ConfigurationError]) -> ConfigurationError? {
        var problems = ConfigurationProblems()
        for error in errors {
            problems.append(error)
        }
        do {
            try problems.check()
            return nil
        } catch {
            return error
        }
    }
}
