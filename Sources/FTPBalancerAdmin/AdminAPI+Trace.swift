import FTPBalancer

/// A response that goes on: one JSON document per line as events come, until the stream ends.
package struct AdminStream: Sendable {
    package var events: AsyncStream<TraceEvent>
    /// Ends the stream from the server's side: the reader left, or the balancer stops.
    package var cancel: @Sendable () -> Void
}

extension AdminAPI {
    /// `GET /api/v1/trace?session=ID` follows one session until it ends; `?client=IP` every
    /// session of that address, those that start later too, until the reader disconnects.
    func trace(_ request: AdminRequest) -> AdminResponse {
        let start: TraceStart
        switch (request.query["session"], request.query["client"]) {
        case (let session?, nil):
            guard let id = Int(session), id > 0 else {
                return .error(
                    .badRequest,
                    "session must be a session id such as 12 (see ftplb show sessions); found '\(session)'"
                )
            }
            start = self.balancer.trace(session: id)
        case (nil, let client?):
            start = self.balancer.trace(client: client)
        default:
            return .error(.badRequest, "give exactly one of session=ID or client=IP")
        }
        switch start {
        case .unknownSession(let id):
            return .error(
                .notFound,
                "no running session \(id): it has ended or never existed (see ftplb show sessions)"
            )
        case .invalidClient(let client):
            return .error(.badRequest, "client must be an IP address such as 192.0.2.10; found '\(client)'")
        case .started(let subscriber):
            self.logger.notice(
                "admin API: trace started",
                metadata: ["ftp.admin.peer": "\(request.peer)", "ftp.trace": "\(subscriber.scope)"]
            )
            return AdminResponse(
                status: .ok,
                stream: AdminStream(events: subscriber.events, cancel: { subscriber.finish() })
            )
        }
    }
}
