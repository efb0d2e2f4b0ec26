import FTPBalancerConfig
import NIOCore

/// Health checks: which are due, and what a finished one changes.
extension PoolState {
    /// One check that is due: which server, and where.
    package struct DueCheck: Equatable, Sendable {
        package var id: Int
        package var configuration: ServerConfiguration
    }

    /// The checks to start now; each is marked running until its result comes back.
    package mutating func dueChecks(now: NIODeadline) -> [DueCheck] {
        guard self.checksEnabled else { return [] }
        var due: [DueCheck] = []
        for index in self.members.indices {
            let member = self.members[index]
            guard !member.retired, member.configuration.state != .disabled, !member.checkRunning, member.nextCheck <= now
            else { continue }
            self.members[index].checkRunning = true
            self.members[index].nextCheck = now + self.healthCheck.interval.timeAmount
            due.append(DueCheck(id: member.id, configuration: member.configuration))
        }
        return due
    }

    /// Takes a check's result: `rise` passes in a row bring a down server up, `fall` failures
    /// take an up server down.
    package mutating func checkFinished(
        id: Int,
        passed: Bool,
        detail: String,
        connectLatency: TimeAmount?,
        now: NIODeadline
    ) -> HealthChange? {
        guard let index = self.index(of: id) else { return nil }
        self.members[index].checkRunning = false
        self.members[index].lastCheck = CheckResult(passed: passed, detail: detail, at: now)
        if let connectLatency { self.noteLatency(connectLatency, at: index) }
        guard self.checksEnabled else { return nil }
        if passed {
            self.members[index].consecutiveFailures = 0
            self.members[index].consecutivePasses += 1
            if self.members[index].health == .down, self.members[index].consecutivePasses >= self.healthCheck.rise {
                return self.setHealth(index, to: .up, reason: "\(self.healthCheck.rise) health checks in a row passed")
            }
        } else {
            self.members[index].consecutivePasses = 0
            self.members[index].consecutiveFailures += 1
            if self.members[index].health == .up, self.members[index].consecutiveFailures >= self.healthCheck.fall {
                return self.setHealth(index, to: .down, reason: "\(self.healthCheck.fall) health checks in a row failed: \(detail)")
            }
        }
        return nil
    }

    mutating func setHealth(_ index: Int, to health: Health, reason: String) -> HealthChange {
        self.members[index].health = health
        self.members[index].consecutivePasses = 0
        self.members[index].consecutiveFailures = 0
        return HealthChange(server: self.members[index].configuration.name, health: health, reason: reason)
    }

    mutating func noteLatency(_ latency: TimeAmount, at index: Int) {
        let seconds = Double(latency.nanoseconds) / 1e9
        let previous = self.members[index].connectLatency
        // Recent connects count most; a single slow one does not decide alone.
        self.members[index].connectLatency = previous.map { 0.7 * $0 + 0.3 * seconds } ?? seconds
    }
}
