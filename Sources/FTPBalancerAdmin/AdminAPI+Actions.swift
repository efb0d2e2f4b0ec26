import FTPBalancer
import NIOCore
import NIOHTTP1

/// The few actions an operator needs during an incident; each is logged at notice with who asked.
extension AdminAPI {
    func serverAction(_ action: String, server: String, request: AdminRequest) -> AdminResponse {
        let change: PoolState.AdminAction
        if let state = Self.serverActions[action] {
            change = .setState(state)
        } else if action == "weight" {
            // The body is bounded by the admin server's body limit before it gets here.
            let body = try? AdminJSON.decode(WeightRequest.self, from: request.body.readableBytesView)
            guard let weight = body?.weight ?? request.query["weight"].flatMap({ Int($0) }),
                (1...1000).contains(weight)
            else {
                return .error(.badRequest, "expected a weight from 1 to 1000, as {\"weight\": N} in the body")
            }
            change = .setWeight(weight)
        } else {
            return .error(.notFound, "unknown server action '\(action)'; expected enable, disable, drain or weight")
        }
        switch self.balancer.administer(server: server, service: request.query["service"], change) {
        case .changed(let service, let change):
            self.logger.notice(
                "admin API: server changed until the next reload",
                metadata: [
                    "ftp.admin.peer": "\(request.peer)", "ftp.service": "\(service)", "ftp.server": "\(change.server)",
                    "ftp.setting": "\(change.setting)", "ftp.from": "\(change.from)", "ftp.to": "\(change.to)",
                ]
            )
            return AdminResponse(
                status: .ok,
                answer: ServerChangeAnswer(
                    service: service,
                    server: change.server,
                    setting: change.setting,
                    from: change.from,
                    to: change.to
                )
            )
        case .unknownService(let name, let known):
            return .error(
                .notFound,
                "no virtual service '\(name)'; known: \(known.joined(separator: ", "))",
                known: known
            )
        case .unknownServer(let name, let known):
            return .error(
                .notFound,
                "no server '\(name)'; known: \(known.joined(separator: ", "))",
                known: known
            )
        case .ambiguous(let name, let services):
            return .error(
                .conflict,
                "server '\(name)' is in several virtual services (\(services.joined(separator: ", "))); name one with ?service=NAME",
                services: services
            )
        }
    }

    func reload(_ request: AdminRequest) async -> AdminResponse {
        self.logger.notice("admin API: reload requested", metadata: ["ftp.admin.peer": "\(request.peer)"])
        switch await self.reload() {
        case .reloaded(let services):
            return AdminResponse(status: .ok, answer: ReloadAnswer(result: "reloaded", services: services))
        case .refused(let message):
            return .error(.unprocessableEntity, message)
        case .unavailable(let message):
            return .error(.conflict, message)
        }
    }
}
