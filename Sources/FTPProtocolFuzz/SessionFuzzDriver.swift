#if DEBUG || FUZZING
import FTPProtocol
import NIOCore

// The session machine is internal to FTPBalancer, and it is changing: a testable import reads it
// as the unit tests do, with no access level widened for a tool. Debug builds are testable; the
// libFuzzer build adds -enable-testing (README, Reliability).
@testable import FTPBalancer

/// An invariant the session machine broke: the harness's finding, with what it saw.
struct SessionFuzzViolation: Error, CustomStringConvertible {
    var description: String
}

/// The driver's side of a fuzzed session, kept as `ControlSession` keeps it: which connections,
/// listeners, data connections and timers exist. Each event reaches the machine only when the
/// real driver could report it; `+Actions` performs what the machine answers on this model and
/// checks each action, `+Invariants` checks the state after every event.
struct SessionFuzzDriver {
    typealias Machine = ControlSession.StateMachine
    typealias Action = Machine.Action

    /// The listener the machine asked for, by the open action that asked.
    enum ListenerKind: CaseIterable {
        case passive, active, translatedPassive, translatedActive
    }

    var machine: Machine
    var now: NIODeadline
    /// The server-side local address: active listeners open on it.
    let localHost: String

    // The control connections. `closing`: the driver was told to close it; its close comes later.
    var clientOpen = true
    var clientClosing = false
    var serverHeld = false
    var serverClosing = false
    var serverGreeted = false
    var connectInFlight = false
    /// `server_tls`: how each connected server is secured, nil for plain FTP to the server.
    var securing: Machine.ServerSecuring?

    // Data connections.
    var listenerInFlight: ListenerKind?
    /// The passive listener kept, by port; it expires unused or takes one data connection.
    var passivePort: Int?
    var activeListenerKept = false
    var flows = 0

    // The session.
    var timers: [Machine.Timer: NIODeadline] = [:]
    /// Protected data connections announced and not yet judged.
    var protectedPending = 0
    var loggedIn = false
    var ended = false
    var finished = false
    var shutdownBegun = false
    var graceOver = false

    init(configuration: Machine.Configuration, now: NIODeadline, localHost: String) {
        self.machine = Machine(configuration: configuration, now: now)
        self.now = now
        self.localHost = localHost
    }

    func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        guard condition else {
            throw SessionFuzzViolation(description: "\(message()) (stage \(self.machine.stage))")
        }
    }

    // MARK: Events

    mutating func start() throws {
        try self.perform(self.machine.start())
    }

    /// A connection that is closed reads nothing more.
    mutating func clientLine(_ line: ControlLine) throws {
        guard self.clientOpen else { return }
        try self.perform(self.machine.clientLine(line, now: self.now))
    }

    mutating func serverLine(_ line: ControlLine) throws {
        guard self.serverHeld else { return }
        try self.perform(self.machine.serverLine(line, now: self.now))
    }

    enum ConnectOutcome: CaseIterable {
        case connected, failed, noServerLeft
    }

    mutating func resolveConnect(_ outcome: ConnectOutcome, rules: Machine.Rules) throws {
        guard self.connectInFlight else { return }
        self.connectInFlight = false
        switch outcome {
        case .connected:
            let wanted = self.machine.stage == .connecting
            let actions = self.machine.serverConnected(rules: rules, securing: self.securing)
            if actions == [.abandonServer] {
                try self.check(!wanted, "a server abandoned by a session that was connecting")
                return try self.checkState()
            }
            let greeting = Action.scheduleTimer(.greeting, after: self.machine.configuration.serverGreeting)
            try self.check(actions == [greeting], "a server connection neither kept nor abandoned: \(actions)")
            try self.check(wanted && !self.ended && self.clientOpen, "a server kept for a session not connecting")
            self.serverHeld = true
            self.serverGreeted = false
            try self.perform(actions)
        case .failed:
            try self.perform(self.machine.serverConnectFailed())
        case .noServerLeft:
            try self.perform(self.machine.noServerAvailable(reply: BalancerReply.serversFull))
        }
    }

    /// The listener asked for opened; `stray`: one of another kind, which the driver never
    /// reports but the machine must refuse.
    mutating func listenerReady(port: Int, serverPort: Int, stray: Bool) throws {
        guard let asked = self.listenerInFlight else { return }
        let kinds = ListenerKind.allCases
        let kind = stray ? kinds[(kinds.firstIndex(of: asked)! + 1 + port % 3) % kinds.count] : asked
        if !stray { self.listenerInFlight = nil }
        let wanted: Bool
        if case .waitingForDataListener = self.machine.stage { wanted = !stray } else { wanted = false }
        let ready: Machine.ReadyListener
        switch kind {
        case .passive: ready = .passive(port: port)
        case .active: ready = .active(host: self.localHost, port: port)
        case .translatedPassive: ready = .translatedPassive(clientPort: port, host: self.localHost, serverPort: serverPort)
        case .translatedActive: ready = .translatedActive
        }
        var actions = self.machine.dataListenerReady(ready)
        let decision = actions.isEmpty ? nil : actions.removeFirst()
        let others = actions.filter { [.discardListener, .useListener(.passive), .useListener(.active)].contains($0) }
        try self.check(others.isEmpty, "a listener kept or discarded twice: \(actions)")
        switch decision {
        case .discardListener:
            try self.check(!wanted, "the listener the session waited for was discarded")
        case .useListener(let slot):
            try self.check(wanted, "a listener kept that the session did not wait for")
            let passive = kind == .passive || kind == .translatedPassive
            try self.check(slot == (passive ? .passive : .active), "a \(kind) listener kept as \(slot)")
            if passive { self.passivePort = port } else { self.activeListenerKept = true }
        default:
            try self.check(false, "a listener neither kept nor discarded: \(String(describing: decision))")
        }
        try self.perform(actions)
    }

    mutating func listenerFailed(_ failure: Machine.DataListenerFailure) throws {
        guard self.listenerInFlight != nil else { return }
        self.listenerInFlight = nil
        try self.perform(self.machine.dataListenerFailed(failure))
    }

    /// The kept passive listener timed out unused, or (`stale`) one that was closed already.
    mutating func listenerExpired(stalePort: Int?) throws {
        if let stalePort {
            self.machine.dataListenerExpired(port: stalePort == self.passivePort ? stalePort + 1 : stalePort)
        } else if let port = self.passivePort {
            self.passivePort = nil
            self.machine.dataListenerExpired(port: port)
        }
        try self.checkState()
    }

    /// A data connection on a kept listener, which takes one.
    mutating func flowStarts(preferPassive: Bool) throws {
        if self.passivePort != nil, preferPassive || !self.activeListenerKept {
            self.passivePort = nil
        } else if self.activeListenerKept {
            self.activeListenerKept = false
        } else {
            return
        }
        self.flows += 1
        self.machine.dataFlowStarted(now: self.now)
        try self.checkState()
    }

    mutating func flowEnds() throws {
        guard self.flows > 0 else { return }
        self.flows -= 1
        try self.perform(self.machine.dataFlowEnded(now: self.now))
    }

    /// One of the scheduled timers fires, at its time or `late` after it.
    mutating func timerFires(choice: Int, late: TimeAmount) throws {
        let scheduled = [Machine.Timer.idle, .greeting, .login, .reply].filter { self.timers[$0] != nil }
        guard !scheduled.isEmpty else { return }
        let timer = scheduled[choice % scheduled.count]
        self.now = max(self.now, self.timers.removeValue(forKey: timer)!) + late
        try self.perform(self.machine.timerFired(timer, now: self.now))
    }

    /// A protected data connection's client side connects; its verdict comes once, later.
    mutating func protectedDataConnects() {
        self.protectedPending += 1
        self.machine.protectedDataConnecting()
    }

    mutating func protectedDataSettles(_ verdict: Machine.ProtectedDataVerdict) throws {
        guard self.protectedPending > 0 else { return }
        self.protectedPending -= 1
        try self.perform(self.machine.protectedDataSettled(verdict))
    }

    mutating func beginShutdown() throws {
        guard !self.shutdownBegun else { return }
        self.shutdownBegun = true
        try self.perform(self.machine.beginShutdown())
    }

    mutating func shutdownGraceOver() throws {
        guard self.shutdownBegun, !self.graceOver else { return }
        self.graceOver = true
        try self.perform(self.machine.shutdownGraceOver())
    }

    mutating func clientCloses() throws {
        guard self.clientOpen else { return }
        self.clientOpen = false
        try self.perform(self.machine.controlConnectionClosed(.client))
    }

    mutating func serverCloses() throws {
        guard self.serverHeld else { return }
        self.serverHeld = false
        try self.perform(self.machine.controlConnectionClosed(.server))
    }
}
#endif
