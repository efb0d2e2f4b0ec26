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
        let answer: JSONValue = .object([
            "pools": .array([
                .object([
                    "service": .string("ftp"),
                    "servers": .array([
                        .object([
                            "name": .string("one"), "address": .string("10.0.2.11:21"), "state": .string("draining"),
                            "health": .string("up"),
                            "last_check": .object([
                                "passed": .bool(false), "detail": .string("refused"), "seconds_ago": .number(2.2),
                            ]),
                            "active_sessions": .integer(3), "weight": .integer(1), "max_sessions": .integer(200),
                            "retired": .bool(false), "admin_override": .object(["state": .string("draining")]),
                        ])
                    ]),
                ])
            ])
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
        let answer: JSONValue = .object([
            "flows": .array([
                .object([
                    "session": .integer(3), "service": .string("ftp"), "mode": .string("epsv"),
                    "client_side": .object([
                        "client": .string("192.0.2.7:50000"), "balancer": .string("10.0.0.1:40001"),
                    ]),
                    "server_side": .object([
                        "balancer": .string("10.0.2.1:33000"), "server": .string("10.0.2.11:30001"),
                    ]),
                    "direction": .string("to_client"), "bytes_to_client": .integer(2_097_152),
                    "bytes_to_server": .integer(0),
                    "bytes_per_second": .integer(1_048_576), "age_seconds": .number(2.0),
                ])
            ])
        ])
        #expect(
            AdminTables.flows(answer).text == """
                SESSION  SERVICE  MODE  CLIENT_SIDE                       SERVER_SIDE                       DIRECTION    BYTES       RATE  AGE
                      3  ftp      EPSV  192.0.2.7:50000 > 10.0.0.1:40001  10.0.2.1:33000 > 10.0.2.11:30001  to_client  2.0 MiB  1.0 MiB/s   2s
                """
        )
    }

    @Test func theStatsTableListsRefusalsByReason() {
        let answer: JSONValue = .object([
            "services": .array([
                .object([
                    "service": .string("ftp"), "sessions_total": .integer(10), "sessions_active": .integer(2),
                    "data_connections": .object([
                        "pasv": .integer(1), "epsv": .integer(4), "port": .integer(0), "eprt": .integer(2),
                    ]),
                    "rewritten_replies": .integer(5),
                    "refusals": .object(["bounce_address": .integer(1), "no_server_up": .integer(2)]),
                    "bytes_to_client": .integer(2048), "bytes_to_server": .integer(10),
                ])
            ])
        ])
        #expect(
            AdminTables.stats(answer).rows == [
                ["ftp", "10", "2", "1", "4", "0", "2", "5", "2.0 KiB", "10 B", "bounce_address=1,no_server_up=2"]
            ]
        )
    }
}
