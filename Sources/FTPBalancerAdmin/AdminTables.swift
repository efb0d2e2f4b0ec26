/// The admin API's answers as tables for `ftplb show`: read from the JSON, as any other client
/// would, so that the table can never show what the API does not say.
package enum AdminTables {
    package static func services(_ answer: JSONValue) -> Table {
        var table = Table(
            headers: ["NAME", "LISTEN", "ADVERTISE", "PASSIVE", "ALGORITHM", "CLIENT_ADDRESS", "SERVERS", "SESSIONS"],
            numeric: [6, 7]
        )
        for service in answer["services"]?.arrayValue ?? [] {
            table.rows.append([
                text(service["name"]), text(service["listen"]), text(service["advertise"]),
                text(service["passive_ports"]),
                text(service["algorithm"]), text(service["client_address"]), text(service["servers"]),
                text(service["active_sessions"]),
            ])
        }
        return table
    }

    package static func pools(_ answer: JSONValue) -> Table {
        var table = Table(
            headers: ["SERVICE", "SERVER", "ADDRESS", "STATE", "HEALTH", "LAST_CHECK", "SESSIONS", "WEIGHT"],
            numeric: [6, 7]
        )
        var overridden = false
        for pool in answer["pools"]?.arrayValue ?? [] {
            for server in pool["servers"]?.arrayValue ?? [] {
                let override = server["admin_override"]?.fields ?? []
                overridden = overridden || !override.isEmpty
                var state = text(server["state"])
                if override.contains(where: { $0.key == "state" }) { state += "*" }
                if server["retired"]?.boolValue == true { state += " (removed)" }
                var weight = text(server["weight"])
                if override.contains(where: { $0.key == "weight" }) { weight += "*" }
                table.rows.append([
                    text(pool["service"]), text(server["name"]), text(server["address"]), state, text(server["health"]),
                    lastCheck(server["last_check"]), sessions(server), weight,
                ])
            }
        }
        if overridden {
            table.footnote = "* set through the admin API; the next reload sets it back to the file's"
        }
        return table
    }

    package static func sessions(_ answer: JSONValue) -> Table {
        var table = Table(
            headers: [
                "ID", "SERVICE", "CLIENT", "SERVER", "USER", "STATE", "LAST_COMMAND", "AGE", "TO_CLIENT", "TO_SERVER",
            ],
            numeric: [0, 7, 8, 9]
        )
        for session in answer["sessions"]?.arrayValue ?? [] {
            table.rows.append([
                text(session["id"]), text(session["service"]), text(session["client"]), text(session["server"]),
                text(session["user"]), text(session["state"]), text(session["last_command"]),
                Human.duration(session["age_seconds"]?.doubleValue ?? 0),
                Human.bytes(session["bytes_to_client"]?.intValue ?? 0),
                Human.bytes(session["bytes_to_server"]?.intValue ?? 0),
            ])
        }
        return table
    }

    package static func flows(_ answer: JSONValue) -> Table {
        var table = Table(
            headers: ["SESSION", "SERVICE", "MODE", "CLIENT_SIDE", "SERVER_SIDE", "DIRECTION", "BYTES", "RATE", "AGE"],
            numeric: [0, 6, 7, 8]
        )
        for flow in answer["flows"]?.arrayValue ?? [] {
            let clientSide = flow["client_side"]
            let serverSide = flow["server_side"]
            let bytes = (flow["bytes_to_client"]?.intValue ?? 0) + (flow["bytes_to_server"]?.intValue ?? 0)
            table.rows.append([
                text(flow["session"]), text(flow["service"]), text(flow["mode"]).uppercased(),
                "\(text(clientSide?["client"])) > \(text(clientSide?["balancer"]))",
                "\(text(serverSide?["balancer"])) > \(text(serverSide?["server"]))",
                text(flow["direction"]), Human.bytes(bytes),
                Human.bytes(flow["bytes_per_second"]?.intValue ?? 0) + "/s",
                Human.duration(flow["age_seconds"]?.doubleValue ?? 0),
            ])
        }
        return table
    }

    package static func stats(_ answer: JSONValue) -> Table {
        var table = Table(
            headers: [
                "SERVICE", "SESSIONS", "ACTIVE", "PASV", "EPSV", "PORT", "EPRT", "REWRITTEN", "TO_CLIENT", "TO_SERVER",
                "REFUSALS",
            ],
            numeric: Set(1...9)
        )
        for service in answer["services"]?.arrayValue ?? [] {
            let data = service["data_connections"]
            let refusals = (service["refusals"]?.fields ?? []).map { "\($0.key)=\(text($0.value))" }
            table.rows.append([
                text(service["service"]), text(service["sessions_total"]), text(service["sessions_active"]),
                text(data?["pasv"]), text(data?["epsv"]), text(data?["port"]), text(data?["eprt"]),
                text(service["rewritten_replies"]),
                Human.bytes(service["bytes_to_client"]?.intValue ?? 0),
                Human.bytes(service["bytes_to_server"]?.intValue ?? 0),
                refusals.isEmpty ? "-" : refusals.joined(separator: ","),
            ])
        }
        return table
    }

    /// A cell: strings as they are, numbers in decimal, absent values as `-`.
    package static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: return text
        case .integer(let number)?: return "\(number)"
        case .number(let number)?: return Human.oneDecimal(number)
        case .bool(let flag)?: return flag ? "yes" : "no"
        default: return "-"
        }
    }

    /// `ok 1s ago`, `failed 3s ago: connection refused`, or `-` before the first check.
    static func lastCheck(_ check: JSONValue?) -> String {
        guard let check, check != .null else { return "-" }
        let ago = Human.duration(check["seconds_ago"]?.doubleValue ?? 0)
        if check["passed"]?.boolValue == true { return "ok \(ago) ago" }
        return "failed \(ago) ago: \(text(check["detail"]))"
    }

    /// `3`, or `3/200` when the server has a session limit.
    static func sessions(_ server: JSONValue) -> String {
        let active = text(server["active_sessions"])
        guard let limit = server["max_sessions"]?.intValue else { return active }
        return "\(active)/\(limit)"
    }
}
