import FTPBalancerConfig
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import FTPBalancer
@testable import FTPBalancerAdmin

@Suite struct AdminAPITests {
    static let token = "0123456789abcdef-token"

    static func api(token: String? = Self.token) -> AdminAPI {
        let configuration = BalancerConfiguration(
            virtualServices: [
                VirtualServiceConfiguration(
                    name: "ftp",
                    listen: Endpoint(host: "127.0.0.1", port: 2121),
                    advertisedAddress: "127.0.0.1",
                    passivePorts: 40000...40010,
                    servers: [ServerConfiguration(name: "one", address: Endpoint(host: "192.0.2.1", port: 21))]
                )
            ]
        )
        let balancer = Balancer(
            configuration: configuration,
            group: MultiThreadedEventLoopGroup.singleton,
            logger: Logger(label: "test")
        )
        return AdminAPI(
            balancer: balancer,
            token: token,
            reload: { .refused("test: refused") },
            logger: Logger(label: "test")
        )
    }

    static func request(_ method: HTTPMethod, _ uri: String, token: String? = Self.token) -> AdminRequest {
        AdminRequest(method: method, uri: uri, authorization: token.map { "Bearer \($0)" }, peer: "127.0.0.1:5000")
    }

    @Test func aRequestWithoutOrWithAWrongTokenGets401() async {
        let api = Self.api()
        #expect(await api.respond(to: Self.request(.GET, "/api/v1/services", token: nil)).status == .unauthorized)
        #expect(
            await api.respond(to: Self.request(.GET, "/api/v1/services", token: Self.token + "x")).status
                == .unauthorized
        )
        #expect(
            await api.respond(to: Self.request(.GET, "/api/v1/services", token: "0123456789abcdef-tokeN")).status
                == .unauthorized
        )
        #expect(await api.respond(to: Self.request(.GET, "/api/v1/services")).status == .ok)
    }

    @Test func withoutAConfiguredTokenNoneIsAsked() async {
        #expect(await Self.api(token: nil).respond(to: Self.request(.GET, "/api/v1/stats", token: nil)).status == .ok)
    }

    @Test func unknownPathsAndWrongMethodsSayWhatExists() async {
        let api = Self.api()
        let missing = await api.respond(to: Self.request(.GET, "/api/v1/nothing"))
        #expect(missing.status == .notFound)
        let endpoints = (missing.answer as? ErrorAnswer)?.endpoints ?? []
        #expect(endpoints.count == 10)
        #expect(endpoints.contains("GET /") && endpoints.contains { $0.hasPrefix("GET /api/v1/trace") })
        let wrong = await api.respond(to: Self.request(.POST, "/api/v1/sessions"))
        #expect(wrong.status == .methodNotAllowed)
        #expect(wrong.headers.contains { $0 == ("Allow", "GET") })
        #expect(await api.respond(to: Self.request(.GET, "/api/v1/reload")).status == .methodNotAllowed)
    }

    @Test func aRefusedReloadIsA422WithTheReason() async {
        let response = await Self.api().respond(to: Self.request(.POST, "/api/v1/reload"))
        #expect(response.status == .unprocessableEntity)
        #expect((response.answer as? ErrorAnswer)?.error == "test: refused")
    }

    @Test func aWeightOutOfRangeIsRefusedBeforeAnyServerIsLookedUp() async {
        var request = Self.request(.POST, "/api/v1/servers/one/weight")
        request.body = ByteBuffer(string: #"{"weight": 0}"#)
        #expect(await Self.api().respond(to: request).status == .badRequest)
    }

    @Test func theQueryIsSplitAndDecoded() {
        let request = Self.request(.POST, "/api/v1/servers/%5B%3A%3A1%5D%3A21/drain?service=ftp%20a&x")
        #expect(request.path == "/api/v1/servers/%5B%3A%3A1%5D%3A21/drain")
        #expect(request.query == ["service": "ftp a", "x": ""])
    }

    @Test func theTokenComparisonNeedsTheWholeTokenExactly() {
        #expect(AdminAPI.authorized("Bearer abc", token: "abc"))
        #expect(!AdminAPI.authorized("Bearer ab", token: "abc"))
        #expect(!AdminAPI.authorized("Bearer abcd", token: "abc"))
        #expect(!AdminAPI.authorized("Basic abc", token: "abc"))
        #expect(!AdminAPI.authorized(nil, token: "abc"))
    }
}

@Suite struct AdminSnapshotJSONTests {
    @Test func aSessionHasItsFieldsInSortedOrderWithAbsentValuesAsNull() throws {
        let session = SessionSnapshot(
            id: 7,
            service: "ftp",
            client: "192.0.2.7:50000",
            server: nil,
            serverAddress: nil,
            user: nil,
            state: .connecting,
            lastCommand: nil,
            age: .milliseconds(1500),
            bytesToClient: 0,
            bytesToServer: 0,
            dataFlows: []
        )
        #expect(
            try AdminJSON.line(SessionView(session))
                == #"{"age_seconds":1.5,"bytes_to_client":0,"bytes_to_server":0,"#
                + #""client":"192.0.2.7:50000","client_side":{"balancer":null,"client":"192.0.2.7:50000"},"#
                + #""data_connections":0,"id":7,"last_command":null,"server":null,"server_address":null,"#
                + #""server_side":null,"server_tls":null,"service":"ftp","state":"connecting","tls":null,"user":null}"#
        )
        var connected = session
        connected.clientSideLocal = "10.0.0.1:21"
        connected.serverSideLocal = "10.0.2.1:33000"
        connected.serverAddress = "10.0.2.11:21"
        let view = SessionView(connected)
        #expect(view.clientSide == ClientSideView(client: "192.0.2.7:50000", balancer: "10.0.0.1:21"))
        #expect(view.serverSide == ServerSideView(balancer: "10.0.2.1:33000", server: "10.0.2.11:21"))
        #expect(view.state == "connecting")
        #expect(view.ageSeconds == 1.5)
    }

    @Test func aFlowCarriesBothAddressPairsItsDirectionAndAverageRate() throws {
        let flow = DataFlowSnapshot(
            session: 7,
            service: "ftp",
            mode: .epsv,
            client: "192.0.2.7:50000",
            clientSideLocal: "10.0.0.1:40001",
            serverSideLocal: "10.0.2.1:33000",
            server: "10.0.2.11:30001",
            bytesToClient: 4_000_000,
            bytesToServer: 0,
            age: .seconds(2)
        )
        #expect(
            FlowView(flow)
                == FlowView(
                    session: 7,
                    service: "ftp",
                    mode: "epsv",
                    clientSide: ClientSideView(client: "192.0.2.7:50000", balancer: "10.0.0.1:40001"),
                    serverSide: ServerSideView(balancer: "10.0.2.1:33000", server: "10.0.2.11:30001"),
                    direction: "to_client",
                    bytesToClient: 4_000_000,
                    bytesToServer: 0,
                    bytesPerSecond: 2_000_000,
                    ageSeconds: 2
                )
        )
        var upload = flow
        upload.bytesToClient = 0
        upload.bytesToServer = 5
        #expect(upload.direction == "to_server")
        upload.bytesToServer = 0
        #expect(upload.direction == "none")
    }

    @Test func aServerShowsItsLastCheckAndOnlyTheSettingsAnOperatorChanged() throws {
        let server = ServerSnapshot(
            name: "one",
            address: Endpoint(host: "192.0.2.1", port: 21),
            state: .draining,
            health: .up,
            lastCheck: .init(passed: true, detail: "greeting 220", age: .milliseconds(250)),
            activeSessions: 2,
            weight: 3,
            maxSessions: nil,
            backup: false,
            retired: false,
            adminOverride: .init(state: .draining, weight: nil)
        )
        let json = try AdminJSON.line(ServerView(server))
        #expect(json.contains(#""admin_override":{"state":"draining"}"#))
        #expect(json.contains(#""last_check":{"detail":"greeting 220","passed":true,"seconds_ago":0.25}"#))
        #expect(json.contains(#""max_sessions":null"#))
    }
}
