#if DEBUG || FUZZING
import FTPProtocol
import NIOCore

@testable import FTPBalancer

/// Feeds one input to the control session's state machine as a sequence of events (client and
/// server lines, connects, listeners, data connections, timers, shutdown, closes) through the
/// driver model, which checks every action and the state after each event. Then every peer goes
/// away, and the session must finish exactly once.
///
/// The first byte picks `per_user` (bit 0), IPv6 for the client side (bit 1) and for the server
/// (bit 2), the data_transfer_policy (bits 3-4), `server_tls` (bits 5-6: none, explicit with PROT
/// P, implicit following the client's PROT, match_client following it) and explicit FTPS offered
/// (bit 7, so that AUTH, PBSZ and PROT are the balancer's and protected data connections are
/// judged); each event is a byte, most with a byte or a few after it.
enum SessionFuzzHarness {
    static let configuration = ControlSession.StateMachine.Configuration(
        greetingBeforeUser: nil,
        controlIdle: .minutes(10),
        serverGreeting: .seconds(10),
        login: .seconds(60),
        serverReply: .seconds(60)
    )
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Events per input, so that an input's run stays short whatever its length.
    static let maximumEvents = 2048

    static func run(_ bytes: UnsafeRawBufferPointer) throws {
        var input = SessionFuzzInput(bytes)
        let first = input.byte()
        var configuration = Self.configuration
        configuration.greetingBeforeUser = first & 1 == 1 ? "FTP balancer ready." : nil
        configuration.security = ControlChannelSecurity(offer: first & 0x80 == 0 ? .none : .explicit)
        let usesIPv6 = first & 2 == 2
        let rules = Self.rules(
            usesIPv6: usesIPv6,
            policy: DataTransferPolicy.allCases[((first >> 3) & 3) % DataTransferPolicy.allCases.count],
            serverIsIPv6: first & 4 == 4,
            features: configuration.security.features
        )
        var driver = SessionFuzzDriver(configuration: configuration, now: Self.start, localHost: usesIPv6 ? "fd00::fe" : "10.0.2.254")
        driver.securing = Self.securing(first >> 5 & 3)
        try driver.start()
        var events = 0
        while !input.isAtEnd, events < Self.maximumEvents {
            events += 1
            try Self.event(input.number(below: 22), input: &input, driver: &driver, rules: rules)
        }
        try Self.windDown(&driver, rules: rules)
    }

    /// `server_tls` of the fuzzed service: none, or one of three ways to secure the server.
    static func securing(_ choice: Int) -> ControlSession.StateMachine.ServerSecuring? {
        switch choice {
        case 1: .init(startsWithTLS: false, protection: .fixed(.private))
        case 2: .init(startsWithTLS: true, protection: .client)
        case 3: .init(startsWithTLS: false, start: .withClientTLS, protection: .client)
        default: nil
        }
    }

    /// The protocol rules a connected server's session gets.
    static func rules(
        usesIPv6: Bool,
        policy: DataTransferPolicy,
        serverIsIPv6: Bool,
        features: [String] = []
    ) -> ControlSessionStateMachine {
        ControlSessionStateMachine(
            addresses: usesIPv6
                ? .init(client: "2001:db8::7", advertised: "2001:db8::10", hidden: ["fd00::1", "fd00::fe"])
                : .init(client: "198.51.100.7", advertised: "192.0.2.10", hidden: ["10.0.2.1", "10.0.2.254"]),
            policy: policy,
            serverIsIPv6: serverIsIPv6,
            features: features
        )
    }

    private static func event(
        _ event: Int,
        input: inout SessionFuzzInput,
        driver: inout SessionFuzzDriver,
        rules: ControlSessionStateMachine
    ) throws {
        switch event {
        case 0, 1, 2:
            try driver.clientLine(input.line(from: SessionFuzzLines.client))
        case 3, 4, 5:
            try driver.serverLine(input.line(from: SessionFuzzLines.server))
        case 6:
            try driver.clientLine(input.overlongLine(from: SessionFuzzLines.client))
        case 7:
            try driver.serverLine(input.overlongLine(from: SessionFuzzLines.server))
        case 8:
            let outcomes = SessionFuzzDriver.ConnectOutcome.allCases
            try driver.resolveConnect(outcomes[input.number(below: outcomes.count)], rules: rules)
        case 9, 10:
            try driver.listenerReady(port: input.port(), serverPort: input.port(), stray: event == 10)
        case 11:
            let failures: [ControlSession.StateMachine.DataListenerFailure] = [.cannotStart, .clientUnreachable, .failed]
            try driver.listenerFailed(failures[input.number(below: failures.count)])
        case 12:
            try driver.listenerExpired(stalePort: input.byte() & 1 == 1 ? input.port() : nil)
        case 13:
            try driver.flowStarts(preferPassive: input.byte() & 1 == 1)
        case 14:
            try driver.flowEnds()
        case 15:
            try driver.timerFires(choice: input.byte(), late: .milliseconds(Int64(input.byte()) * 50))
        case 16:
            // Up to 17 minutes: past every timeout the session has.
            driver.now = driver.now + .seconds(Int64(input.byte()) * 4) + .milliseconds(Int64(input.byte()))
            try driver.checkState()
        case 17:
            try input.byte() & 1 == 0 ? driver.beginShutdown() : driver.shutdownGraceOver()
        case 18:
            try input.byte() & 1 == 0 ? driver.clientCloses() : driver.serverCloses()
        case 19:
            driver.protectedDataConnects()
        case 20:
            let verdicts: [ControlSession.StateMachine.ProtectedDataVerdict] = [.accepted, .refused, .failed]
            try driver.protectedDataSettles(verdicts[input.number(below: verdicts.count)])
        default:
            // What the driver was told to close closes.
            if driver.clientClosing { try driver.clientCloses() }
            if driver.serverClosing { try driver.serverCloses() }
        }
    }

    /// What is under way completes (closes asked for, then listeners and connects fail, data
    /// connections end), then the peers go away: the session must have finished.
    private static func windDown(_ driver: inout SessionFuzzDriver, rules: ControlSessionStateMachine) throws {
        // Bounded: each turn closes a connection, ends a data connection or resolves something
        // in flight, and the lines queued for after it are at most the input's events.
        for _ in 0..<(Self.maximumEvents * 2 + 16) {
            if driver.clientClosing && driver.clientOpen {
                try driver.clientCloses()
            } else if driver.serverClosing && driver.serverHeld {
                try driver.serverCloses()
            } else if driver.listenerInFlight != nil {
                try driver.listenerFailed(.failed)
            } else if driver.connectInFlight {
                try driver.resolveConnect(.noServerLeft, rules: rules)
            } else if driver.flows > 0 {
                try driver.flowEnds()
            } else if driver.protectedPending > 0 {
                try driver.protectedDataSettles(.failed)
            } else if driver.clientOpen {
                try driver.clientCloses()
            } else if driver.serverHeld {
                try driver.serverCloses()
            } else {
                break
            }
        }
        try driver.check(driver.finished, "every connection is gone, and the session did not finish")
    }
}
#endif
