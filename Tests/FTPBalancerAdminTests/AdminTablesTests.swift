import Testing

@testable import FTPBalancerAdmin

@Suite struct AdminTablesTests {
    @Test func columnsAreAlignedWithNumbersOnTheRight() {
        var table = Table(headers: ["NAME", "N", "NOTE"], numeric: [1])
        table.rows = [["a", "7", "x"], ["longer", "1234", "-"]]
        #expect(table.text == "NAME       N  NOTE\na          7  x\nlonger  1234  -")
    }

    @Test func anEmptyTableSaysSoAndAFootnoteFollowsTheRows() {
        #expect(Table(headers: ["ID"]).text == "ID\n(none)")
        var table = Table(headers: ["A"], footnote: "* note")
        table.rows = [["x*"]]
        #expect(table.text == "A\nx*\n* note")
    }

    @Test func bytesAndDurationsReadAsPeopleWriteThem() {
        #expect(Human.bytes(0) == "0 B")
        #expect(Human.bytes(1023) == "1023 B")
        #expect(Human.bytes(1536) == "1.5 KiB")
        #expect(Human.bytes(8_731_648) == "8.3 MiB")
        #expect(Human.duration(3.9) == "3s")
        #expect(Human.duration(125) == "2m05s")
        #expect(Human.duration(3720) == "1h02m")
    }

    @Test func thePoolsTableMarksAdminChangesAndShowsTheLastCheck() {
        let server = ServerView(
            name: "one",
            address: "10.0.2.11:21",
            state: "draining",
            health: "up",
            lastCheck: ServerView.CheckView(passed: false, detail: "refused", secondsAgo: 2.2),
            activeSessions: 3,
            weight: 1,
            maxSessions: 200,
            backup: false,
            retired: false,
            adminOverride: ServerView.OverrideView(state: "draining"),
            bytesToClient: 0,
            bytesToServer: 0
        )
        let answer = PoolsAnswer(pools: [
            PoolView(service: "ftp", algorithm: "round_robin", healthCheck: "ftp", servers: [server])
        ])
        #expect(
            AdminTables.pools(answer).text == """
                SERVICE  SERVER  ADDRESS       STATE      HEALTH  LAST_CHECK              SESSIONS  WEIGHT
                ftp      one     10.0.2.11:21  draining*  up      failed 2s ago: refused     3/200       1
                * set through the admin API; the next reload sets it back to the file's
                """
        )
    }

    @Test func theFlowsTableShowsBothAddressPairsBytesAndRate() {
        let answer = FlowsAnswer(flows: [
            FlowView(
                session: 3,
                service: "ftp",
                mode: "epsv",
                clientSide: ClientSideView(client: "192.0.2.7:50000", balancer: "10.0.0.1:40001"),
                serverSide: ServerSideView(balancer: "10.0.2.1:33000", server: "10.0.2.11:30001"),
                direction: "to_client",
                bytesToClient: 2_097_152,
                bytesToServer: 0,
                bytesPerSecond: 1_048_576,
                ageSeconds: 2.0
            )
        ])
        #expect(
            AdminTables.flows(answer).text == """
                SESSION  SERVICE  MODE  PROT  CLIENT_SIDE                       SERVER_SIDE                       DIRECTION    BYTES       RATE  AGE
                      3  ftp      EPSV  C     192.0.2.7:50000 > 10.0.0.1:40001  10.0.2.1:33000 > 10.0.2.11:30001  to_client  2.0 MiB  1.0 MiB/s   2s
                """
        )
    }

    @Test func theStatsTableListsRefusalsByReason() {
        let answer = StatsAnswer(services: [
            ServiceStatsView(
                service: "ftp",
                sessionsTotal: 10,
                sessionsActive: 2,
                dataConnections: ["pasv": 1, "epsv": 4, "port": 0, "eprt": 2],
                rewrittenReplies: 5,
                refusals: ["no_server_up": 2, "bounce_address": 1],
                bytesToClient: 2048,
                bytesToServer: 10
            )
        ])
        #expect(
            AdminTables.stats(answer).rows == [
                ["ftp", "10", "2", "1", "4", "0", "2", "5", "2.0 KiB", "10 B", "bounce_address=1,no_server_up=2"]
            ]
        )
    }
}
