extension Duration {
    /// `5s`, `0.5s`: seconds, with as many decimals as the duration needs, down to
    /// nanoseconds; the way the configuration file writes durations.
    package var shortText: String {
        let (seconds, attoseconds) = self.components
        let nanoseconds = attoseconds / 1_000_000_000
        guard nanoseconds > 0 else {
            return "\(seconds)s"
        }
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") {
            fraction.removeLast()
        }
        return "\(seconds).\(fraction)s"
    }
}
