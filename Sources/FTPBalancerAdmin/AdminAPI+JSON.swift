import FTPBalancer
import FTPBalancerConfig
import NIOCore

/// The JSON shapes of the admin API. Names are snake_case like the configuration file; byte
/// counts are integers, ages and rates plain numbers, absent values null.
extension VirtualService {
    func json(activeSessions: Int) -> JSONValue {
        let configuration = self.configuration
        return .object([
            "name": .string(self.name),
            "listen": .string(configuration.listen.description),
            "advertise": .string(configuration.advertisedAddress),
            // A service with a listen list: each listener and the address its clients are given.
            "listeners": .array(
                configuration.listeners.map {
                    .object(["listen": .string($0.endpoint.description), "advertise": .string($0.advertisedAddress)])
                }
            ),
            "data_transfer_policy": .string(configuration.dataTransferPolicy.rawValue),
            "passive_ports": .string(
                "\(configuration.passivePorts.lowerBound)-\(configuration.passivePorts.upperBound)"
            ),
            "algorithm": .string(configuration.algorithm.rawValue),
            "client_address": .string(configuration.clientAddress.rawValue),
            "active_source_port": .integer(configuration.activeSourcePort),
            "servers": .integer(configuration.servers.count),
            "active_sessions": .integer(activeSessions),
        ])
    }

    func statisticsJSON(activeSessions: Int) -> JSONValue {
        let counters = self.statistics.current
        return .object([
            "service": .string(self.name),
            "sessions_total": .integer(counters.sessions),
            "sessions_active": .integer(activeSessions),
            "data_connections": .object(
                DataConnectionMode.allCases.map {
                    JSONField(key: $0.rawValue, value: .integer(counters.dataConnections[$0, default: 0]))
                }
            ),
            "rewritten_replies": .integer(counters.rewrittenReplies),
            "refusals": .object(
                counters.refusals.sorted { $0.key < $1.key }.map { JSONField(key: $0.key, value: .integer($0.value)) }
            ),
            "bytes_to_client": .integer(counters.bytesToClient),
            "bytes_to_server": .integer(counters.bytesToServer),
        ])
    }
}

extension PoolSnapshot {
    var json: JSONValue {
        .object([
            "service": .string(self.service),
            "algorithm": .string(self.algorithm.rawValue),
            "health_check": .string(self.healthCheck.rawValue),
            "servers": .array(self.servers.map(\.json)),
        ])
    }
}

extension ServerSnapshot {
    var json: JSONValue {
        var override: [JSONField] = []
        if let state = self.adminOverride.state {
            override.append(JSONField(key: "state", value: .string(state.rawValue)))
        }
        if let weight = self.adminOverride.weight { override.append(JSONField(key: "weight", value: .integer(weight))) }
        return .object([
            "name": .string(self.name),
            "address": .string(self.address.description),
            "state": .string(self.state.rawValue),
            "health": .string(self.health.rawValue),
            "last_check": self.lastCheck.map { check in
                .object([
                    "passed": .bool(check.passed),
                    "detail": .string(check.detail),
                    "seconds_ago": .number(check.age.seconds),
                ])
            } ?? .null,
            "active_sessions": .integer(self.activeSessions),
            "weight": .integer(self.weight),
            "max_sessions": .integer(self.maxSessions),
            "backup": .bool(self.backup),
            "retired": .bool(self.retired),
            "admin_override": .object(override),
            "bytes_to_client": .integer(self.bytesToClient),
            "bytes_to_server": .integer(self.bytesToServer),
        ])
    }
}

extension SessionSnapshot {
    var json: JSONValue {
        .object([
            "id": .integer(self.id),
            "service": .string(self.service),
            "client": .string(self.client),
            "server": .string(self.server),
            "server_address": .string(self.serverAddress),
            "client_side": .object(["client": .string(self.client), "balancer": .string(self.clientSideLocal)]),
            "server_side": self.serverSideLocal.map { local in
                .object(["balancer": .string(local), "server": .string(self.serverAddress)])
            } ?? .null,
            "user": .string(self.user),
            "state": .string(self.state.rawValue),
            "last_command": .string(self.lastCommand),
            "age_seconds": .number(self.age.seconds),
            "bytes_to_client": .integer(self.bytesToClient),
            "bytes_to_server": .integer(self.bytesToServer),
            "data_connections": .integer(self.dataFlows.count),
        ])
    }
}

extension DataFlowSnapshot {
    var json: JSONValue {
        .object([
            "session": .integer(self.session),
            "service": .string(self.service),
            "mode": .string(self.mode.rawValue),
            "client_side": .object(["client": .string(self.client), "balancer": .string(self.clientSideLocal)]),
            "server_side": .object(["balancer": .string(self.serverSideLocal), "server": .string(self.server)]),
            "direction": .string(self.direction),
            "bytes_to_client": .integer(self.bytesToClient),
            "bytes_to_server": .integer(self.bytesToServer),
            "bytes_per_second": .integer(self.bytesPerSecond),
            "age_seconds": .number(self.age.seconds),
        ])
    }
}

extension TimeAmount {
    /// Seconds to the millisecond: enough for people, short in JSON.
    var seconds: Double {
        Double(self.nanoseconds / 1_000_000) / 1000
    }
}
