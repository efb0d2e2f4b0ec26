import CoreMetrics
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

@testable import FTPBalancer

@Suite("Who may make a listener's one data connection")
struct DataConnectionAdmissionTests {
    typealias Admission = DataConnectionAdmission

    static func refused(
        _ reason: Admission.Refusal.Reason,
        peer: String,
        _ report: Admission.Report
    ) -> Admission.Decision {
        .refuse(Admission.Refusal(reason: reason, peer: peer, report: report))
    }

    static func secondOnPassivePort(_ peer: String) -> Admission.Report {
        .log(
            Admission.Message(
                level: .notice,
                text: "refused a second connection to a passive port",
                metadata: ["ftp.peer": peer]
            )
        )
    }

    static func onActiveListener(_ peer: String, expected: String) -> Admission.Report {
        .log(
            Admission.Message(
                level: .warning,
                text: "refused a connection to an active-mode listener",
                metadata: ["ftp.peer": peer, "ftp.expected": expected]
            )
        )
    }

    static func onTranslatedPassivePort(_ peer: String, port: Int) -> Admission.Report {
        .log(
            Admission.Message(
                level: .warning,
                text: "refused a passive data connection from an address other than the client's, or a second one",
                metadata: ["ftp.peer": peer, "ftp.port": "\(port)"]
            )
        )
    }

    @Test("A passive port admits its client once, and logs a second connection from anyone.")
    func passivePortAdmitsItsClientOnce() {
        var admission = Admission(.passive(port: 30001), expectedPeer: "192.0.2.7")
        #expect(!admission.admitted)
        #expect(admission.decide(peer: "192.0.2.7") == .admit)
        #expect(admission.admitted)
        #expect(
            admission.decide(peer: "192.0.2.7")
                == Self.refused(.secondConnection, peer: "192.0.2.7", Self.secondOnPassivePort("192.0.2.7"))
        )
        #expect(
            admission.decide(peer: "192.0.2.8")
                == Self.refused(.secondConnection, peer: "192.0.2.8", Self.secondOnPassivePort("192.0.2.8"))
        )
    }

    @Test(
        "A stranger on a passive port (an unknown peer, or a form of the client's address that is not canonical) is refused as misrouted, and the client is still admitted after it.",
        arguments: ["198.51.100.1", "?", "::ffff:192.0.2.7"]
    )
    func strangerOnPassivePortIsMisrouted(stranger: String) {
        var admission = Admission(.passive(port: 30001), expectedPeer: "192.0.2.7")
        #expect(admission.decide(peer: stranger) == Self.refused(.otherPeer, peer: stranger, .misrouted(port: 30001)))
        #expect(!admission.admitted)
        #expect(admission.decide(peer: "192.0.2.7") == .admit)
    }

    @Test("An IPv6 client is admitted by its canonical text.")
    func anIPv6ClientIsAdmitted() {
        var admission = Admission(.passive(port: 30001), expectedPeer: "2001:db8::7")
        #expect(admission.decide(peer: "2001:db8::7") == .admit)
    }

    @Test("An active-mode listener admits its server once and names the expected peer in every refusal.")
    func activeListenerAdmitsItsServerOnce() {
        var admission = Admission(.active, expectedPeer: "10.0.2.11")
        let stranger = Self.onActiveListener("10.0.2.12", expected: "10.0.2.11")
        #expect(admission.decide(peer: "10.0.2.12") == Self.refused(.otherPeer, peer: "10.0.2.12", stranger))
        #expect(admission.decide(peer: "10.0.2.11") == .admit)
        let again = Self.onActiveListener("10.0.2.11", expected: "10.0.2.11")
        #expect(admission.decide(peer: "10.0.2.11") == Self.refused(.secondConnection, peer: "10.0.2.11", again))
    }

    @Test("A listener with nothing left to relay to refuses even its own peer, and admits it once it can.")
    func closedListenerRefusesItsOwnPeer() {
        var admission = Admission(.active, expectedPeer: "10.0.2.11")
        let closed = Self.onActiveListener("10.0.2.11", expected: "10.0.2.11")
        #expect(admission.decide(peer: "10.0.2.11", open: false) == Self.refused(.closed, peer: "10.0.2.11", closed))
        #expect(!admission.admitted)
        let stranger = Self.onActiveListener("10.0.2.12", expected: "10.0.2.11")
        #expect(
            admission.decide(peer: "10.0.2.12", open: false) == Self.refused(.otherPeer, peer: "10.0.2.12", stranger)
        )
        #expect(admission.decide(peer: "10.0.2.11") == .admit)
    }

    @Test("A translated passive port logs strangers and second connections alike, with its port.")
    func translatedPassivePortLogsWithItsPort() {
        var admission = Admission(.translatedPassive(port: 30002), expectedPeer: "192.0.2.7")
        let stranger = Self.onTranslatedPassivePort("192.0.2.8", port: 30002)
        #expect(admission.decide(peer: "192.0.2.8") == Self.refused(.otherPeer, peer: "192.0.2.8", stranger))
        #expect(admission.decide(peer: "192.0.2.7") == .admit)
        let second = Self.onTranslatedPassivePort("192.0.2.7", port: 30002)
        #expect(admission.decide(peer: "192.0.2.7") == Self.refused(.secondConnection, peer: "192.0.2.7", second))
    }

    @Test("admits logs a refusal with its level and metadata, and nothing for the connection it admits.")
    func admitsLogsARefusal() {
        let handler = InMemoryLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        var admission = Admission(.active, expectedPeer: "10.0.2.11")
        #expect(admission.admits(peer: "10.0.2.12", logger: logger) == false)
        #expect(admission.admits(peer: "10.0.2.11", logger: logger) == true)
        #expect(
            handler.entries == [
                InMemoryLogHandler.Entry(
                    level: .warning,
                    message: "refused a connection to an active-mode listener",
                    metadata: ["ftp.peer": "10.0.2.12", "ftp.expected": "10.0.2.11"]
                )
            ]
        )
    }

    @Test("admits counts a stranger on a passive port as misrouted instead of logging it itself.")
    func admitsCountsAMisroutedConnection() throws {
        let handler = InMemoryLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        let metrics = TestMetrics()
        let counter = Counter(label: "misrouted", factory: metrics)
        let misrouted = MisroutedDataConnections(counter: counter)
        var admission = Admission(.passive(port: 30001), expectedPeer: "192.0.2.7")
        #expect(admission.admits(peer: "198.51.100.1", logger: logger, misrouted: misrouted) == false)
        #expect(try metrics.expectCounter(counter).totalValue == 1)
        #expect(handler.entries.map(\.level) == [.warning])
        #expect(handler.entries.first?.metadata == ["ftp.peer": "198.51.100.1", "ftp.port": "30001"])
    }
}
