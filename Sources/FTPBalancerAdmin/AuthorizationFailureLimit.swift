import NIOCore

/// How many requests with a missing or wrong token one client address may make: after
/// `maximumFailures` of them within `window` (counted from the first), every request from that
/// address is answered `429` until the window is over, the right token too, so that a token
/// cannot be guessed at network speed and a 429 says nothing about a guess. Pure: the clock is
/// an argument; `AdminAPI` keeps one behind a lock.
struct AuthorizationFailureLimit: Sendable {
    enum Decision: Equatable, Sendable {
        case proceed
        /// Refused until the window is over; `firstRefusal` is true once per window, so that the
        /// refusals are logged once rather than per request.
        case limited(retryAfterSeconds: Int, firstRefusal: Bool)
    }

    private struct Window: Sendable {
        var start: NIODeadline
        var failures: Int
        var refused = false
    }

    let maximumFailures: Int
    let window: TimeAmount
    /// Addresses remembered at once: a flood from many addresses costs a bounded table.
    let maximumAddresses: Int
    private var windows: [String: Window] = [:]

    init(maximumFailures: Int = 10, window: TimeAmount = .seconds(60), maximumAddresses: Int = 4096) {
        self.maximumFailures = maximumFailures
        self.window = window
        self.maximumAddresses = maximumAddresses
    }

    /// Before the token is looked at: whether a request from `address` is answered at all.
    mutating func check(address: String, now: NIODeadline) -> Decision {
        guard var entry = self.windows[address] else { return .proceed }
        let end = entry.start + self.window
        guard now < end else {
            self.windows[address] = nil
            return .proceed
        }
        guard entry.failures >= self.maximumFailures else { return .proceed }
        let first = !entry.refused
        entry.refused = true
        self.windows[address] = entry
        // Whole seconds, rounded up: a client that waits that long is answered again.
        let nanoseconds = (end - now).nanoseconds
        let seconds = Int((nanoseconds + 999_999_999) / 1_000_000_000)
        return .limited(retryAfterSeconds: max(1, seconds), firstRefusal: first)
    }

    /// A request from `address` had a missing or wrong token.
    mutating func failed(address: String, now: NIODeadline) {
        if var entry = self.windows[address], now < entry.start + self.window {
            entry.failures += 1
            self.windows[address] = entry
            return
        }
        if self.windows[address] == nil, self.windows.count >= self.maximumAddresses {
            self.makeRoom(now: now)
        }
        self.windows[address] = Window(start: now, failures: 1)
    }

    /// The addresses remembered now (tests read it to see the table stays bounded).
    var addressCount: Int { self.windows.count }

    /// Forgets the windows that are over, or else the oldest one.
    private mutating func makeRoom(now: NIODeadline) {
        let window = self.window
        self.windows = self.windows.filter { now < $0.value.start + window }
        if self.windows.count >= self.maximumAddresses,
            let oldest = self.windows.min(by: { $0.value.start < $1.value.start })?.key
        {
            self.windows[oldest] = nil
        }
    }
}
