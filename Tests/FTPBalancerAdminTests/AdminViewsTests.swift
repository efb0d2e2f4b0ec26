import FTPBalancer
import Testing

@testable import FTPBalancerAdmin

@Suite struct AdminViewsTests {
    static let server = ServerView(
        name: "one",
        address: "192.0.2.1:21",
        state: "enabled",
        health: "unchecked",
        lastCheck: nil,
        activeSessions: 0,
        weight: 1,
        maxSessions: nil,
        backup: false,
        retired: false,
        adminOverride: ServerView.OverrideView(),
        bytesToClient: 0,
        bytesToServer: 12
    )
    static let pools = PoolsAnswer(pools: [
        PoolView(service: "ftp", algorithm: "round_robin", healthCheck: "none", servers: [Self.server])
    ])

    @Test func anAnswerIsIndentedWithSortedKeysNullWhereDocumentedAndANewlineAtTheEnd() throws {
        #expect(
            try AdminJSON.document(Self.pools) == """
                {
                  "pools" : [
                    {
                      "algorithm" : "round_robin",
                      "health_check" : "none",
                      "servers" : [
                        {
                          "active_sessions" : 0,
                          "address" : "192.0.2.1:21",
                          "admin_override" : {

                          },
                          "backup" : false,
                          "bytes_to_client" : 0,
                          "bytes_to_server" : 12,
                          "health" : "unchecked",
                          "last_check" : null,
                          "max_sessions" : null,
                          "name" : "one",
                          "retired" : false,
                          "state" : "enabled",
                          "weight" : 1
                        }
                      ],
                      "service" : "ftp"
                    }
                  ]
                }

                """
        )
    }

    @Test func everyAnswerReadsBackAsItWasWritten() throws {
        var checked = Self.server
        checked.lastCheck = ServerView.CheckView(passed: true, detail: "greeting 220", secondsAgo: 0.25)
        checked.maxSessions = 200
        checked.adminOverride = ServerView.OverrideView(state: "draining", weight: 3)
        try Self.roundTrip(
            PoolsAnswer(pools: [PoolView(service: "ftp", algorithm: "x", healthCheck: "ftp", servers: [checked])])
        )
        try Self.roundTrip(Self.pools)
        let session = SessionView(
            id: 4,
            service: "ftp",
            client: "[2001:db8::7]:50000",
            server: nil,
            serverAddress: nil,
            clientSide: ClientSideView(client: "[2001:db8::7]:50000", balancer: nil),
            serverSide: nil,
            user: nil,
            state: "connecting",
            lastCommand: nil,
            ageSeconds: 1.5,
            bytesToClient: 0,
            bytesToServer: 0,
            dataConnections: 0
        )
        var connected = session
        connected.server = "one"
        connected.serverSide = ServerSideView(balancer: "10.0.2.1:33000", server: "10.0.2.11:21")
        connected.user = "alice \"ü\"\n"
        try Self.roundTrip(SessionsAnswer(sessions: [session, connected]))
        try Self.roundTrip(
            StatsAnswer(services: [
                ServiceStatsView(
                    service: "ftp",
                    sessionsTotal: 1,
                    sessionsActive: 0,
                    dataConnections: ["pasv": 1],
                    rewrittenReplies: 0,
                    refusals: ["bounce_address": 2],
                    bytesToClient: 0,
                    bytesToServer: 0
                )
            ])
        )
        try Self.roundTrip(ErrorAnswer(error: "no server 'x'", known: ["one", "two"]))
        try Self.roundTrip(ServerChangeAnswer(service: "ftp", server: "one", setting: "weight", from: "1", to: "3"))
        try Self.roundTrip(ReloadAnswer(result: "reloaded", services: 2))
        try Self.roundTrip(HealthAnswer(status: "ready", reason: "every listener is bound"))
    }

    @Test func aNullableFieldLeftOutReadsAsAbsentAndListsThatDoNotApplyAreLeftOut() throws {
        let side = try AdminJSON.decode(ServerSideView.self, from: #"{"balancer":"10.0.2.1:33000"}"#.utf8)
        #expect(side == ServerSideView(balancer: "10.0.2.1:33000", server: nil))
        #expect(try AdminJSON.line(ErrorAnswer(error: "no such endpoint")) == #"{"error":"no such endpoint"}"#)
    }

    @Test func malformedOrTooDeeplyNestedTextIsRefused() throws {
        for text in ["", "{", #"{"weight": 1"#, #"{"weight": "3"}"#, #"{"weight": 3.5}"#, #"{"weight": 1} 2"#] {
            #expect(throws: (any Error).self, "\(text)") { try AdminJSON.decode(WeightRequest.self, from: text.utf8) }
        }
        let deep =
            #"{"weight": 1, "x": "# + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}"
        #expect(throws: (any Error).self) { try AdminJSON.decode(WeightRequest.self, from: deep.utf8) }
        #expect(try AdminJSON.decode(WeightRequest.self, from: #"{"weight": 3}"#.utf8) == WeightRequest(weight: 3))
    }

    @Test func percentEncodingRoundTripsServerNames() {
        for name in ["ftp-a", "10.0.2.12:21", "[2001:db8::1]:21", "naïve name", "a/b"] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(name)) == name)
        }
        #expect(PercentEncoding.encode("[::1]:21") == "%5B%3A%3A1%5D%3A21")
        #expect(PercentEncoding.decode("%zz") == nil)
        #expect(PercentEncoding.decode("%ff") == nil)
    }

    static func roundTrip<Answer: Codable & Equatable>(_ answer: Answer) throws {
        #expect(try AdminJSON.decode(Answer.self, from: AdminJSON.document(answer).utf8) == answer)
        #expect(try AdminJSON.decode(Answer.self, from: AdminJSON.line(answer).utf8) == answer)
    }
}

@Suite("Trace events as JSON")
struct TraceEventViewTests {
    /// A command as the client sent it; each test changes what it is about.
    static let userCommand = TraceEvent(
        time: WallClockTime(seconds: 1_795_255_200, nanoseconds: 5_000_000),
        session: 12,
        client: "192.0.2.10",
        direction: .clientToBalancer,
        line: "USER alice"
    )

    @Test("An event is one JSON line with time, session, client, direction and line.")
    func jsonLine() throws {
        #expect(
            try AdminJSON.line(TraceEventView(Self.userCommand))
                == #"{"client":"192.0.2.10","direction":"client_to_balancer","line":"USER alice","#
                + #""session":12,"time":"2026-11-21T10:00:00.005Z"}"#
        )
    }

    @Test("A line with quotes or control characters stays one JSON line.")
    func escaping() throws {
        var reply = Self.userCommand
        reply.direction = .serverToBalancer
        reply.line = "550 \"a\\b\"\r\n"
        let line = try AdminJSON.line(TraceEventView(reply))
        #expect(line.contains(#""line":"550 \"a\\b\"\r\n""#))
        #expect(!line.contains("\n"))
    }

    @Test("A dropped notice carries its event and count, and reads back as it was written.")
    func droppedNotice() throws {
        var notice = Self.userCommand
        notice.direction = .event
        notice.line = "3 events dropped: the trace reader is too slow"
        notice.event = TraceEvent.droppedEvents
        notice.dropped = 3
        let line = try AdminJSON.line(TraceEventView(notice))
        #expect(line.contains(#""dropped":3"#) && line.contains(#""event":"dropped""#))
        #expect(try AdminJSON.decode(TraceEventView.self, from: line.utf8) == TraceEventView(notice))
    }
}
