import FTPProtocol
import NIOCore
import Testing

@testable import FTPBalancer
@testable import FTPProtocolFuzz

/// The driver model's checks bite: actions that do not fit what exists are reported.
@Suite struct SessionFuzzDriverTests {
    static func driver() throws -> SessionFuzzDriver {
        var driver = SessionFuzzDriver(
            configuration: SessionFuzzHarness.configuration,
            now: SessionFuzzHarness.start,
            localHost: "10.0.2.254"
        )
        try driver.start()
        return driver
    }

    @Test func aStartedSessionHasItsTimersAndOneConnectInFlight() throws {
        let driver = try Self.driver()
        #expect(driver.connectInFlight)
        #expect(Set(driver.timers.keys) == [.idle, .login, .reply])
    }

    @Test func aFinishWhileTheClientIsConnectedIsReported() throws {
        var driver = try Self.driver()
        #expect(throws: SessionFuzzViolation.self) { try driver.perform([.finish]) }
    }

    @Test func aSecondConnectWhileOneIsInFlightIsReported() throws {
        var driver = try Self.driver()
        #expect(throws: SessionFuzzViolation.self) { try driver.perform([.connectToServer(user: nil)]) }
    }

    @Test func aReplyWithALineEndIsReported() throws {
        var driver = try Self.driver()
        #expect(throws: SessionFuzzViolation.self) { try driver.perform([.reply("200 ok\r\n530 injected")]) }
    }

    @Test func aCommandBeforeTheServersGreetingIsReported() throws {
        var driver = try Self.driver()
        try driver.resolveConnect(.connected, rules: SessionFuzzHarness.rules(usesIPv6: false, policy: .client, serverIsIPv6: false))
        #expect(driver.serverHeld && !driver.serverGreeted)
        #expect(throws: SessionFuzzViolation.self) { try driver.perform([.sendServer(FTPCommand(verb: "NOOP"))]) }
    }

    @Test func aSessionLeftWithoutItsIdleCheckIsReported() throws {
        var driver = try Self.driver()
        driver.timers[.idle] = nil
        #expect(throws: SessionFuzzViolation.self) { try driver.checkState() }
    }
}
