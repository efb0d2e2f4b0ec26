import FTPBalancerConfig
import NIOCore

/// What sessions report: a connect that worked or failed, a session or data connection ended.
extension PoolState {
    func index(of id: Int) -> Int? {
        self.members.firstIndex { $0.id == id }
    }

    /// A session reached its server in `latency`; a real connect counts as a passed check's
    /// worth of evidence only for the fall counter.
    package mutating func sessionConnected(id: Int, latency: TimeAmount) {
        guard let index = self.index(of: id) else { return }
        self.noteLatency(latency, at: index)
        self.members[index].consecutiveFailures = 0
    }

    /// A session could not reach its server: the session no longer counts on it, and `fall`
    /// such failures in a row take the server down before the next check would.
    package mutating func sessionConnectFailed(id: Int, reason: String) -> HealthChange? {
        guard let index = self.index(of: id) else { return nil }
        guard !self.members[index].retired else {
            self.release(at: index)
            return nil
        }
        self.release(at: index)
        guard self.checksEnabled, self.members[index].health == .up else { return nil }
        self.members[index].consecutiveFailures += 1
        guard self.members[index].consecutiveFailures >= self.healthCheck.fall else { return nil }
        return self.setHealth(index, to: .down, reason: "\(self.healthCheck.fall) client sessions in a row could not connect: \(reason)")
    }

    /// A session that reached its server ended.
    package mutating func sessionEnded(id: Int) {
        guard let index = self.index(of: id) else { return }
        self.release(at: index)
    }

    /// A data connection of a session on this server ended: its bytes count for the server.
    package mutating func dataConnectionEnded(id: Int, bytesToClient: Int, bytesToServer: Int) {
        guard let index = self.index(of: id) else { return }
        self.members[index].bytesToClient += bytesToClient
        self.members[index].bytesToServer += bytesToServer
    }

    mutating func release(at index: Int) {
        self.members[index].activeSessions = max(0, self.members[index].activeSessions - 1)
        if self.members[index].retired, self.members[index].activeSessions == 0 {
            self.members.remove(at: index)
        }
    }
}
