import FTPProtocol
import NIOCore

extension ControlSession.StateMachine.Relaying {
    typealias Action = ControlSession.StateMachine.Action
    typealias DataListenerWait = ControlSession.StateMachine.DataListenerWait
    typealias ReadyListener = ControlSession.StateMachine.ReadyListener
    typealias DataListenerFailure = ControlSession.StateMachine.DataListenerFailure

    /// The listener the session waited for is ready: keep it, tell the side that connects to
    /// it where, and let what waited go on.
    mutating func listenerReady(_ ready: ReadyListener, for wait: DataListenerWait, into actions: inout [Action]) -> DataListenerWait? {
        switch (wait, ready) {
        case (.passive(let request), .passive(let port)):
            self.passivePort = port
            actions.append(.useListener(.passive))
            actions.append(.rewrittenReply(self.rules.passiveReply(kind: request.kind, port: port)))
        case (.active(let request), .active(let host, let port)):
            self.activeListenerOpen = true
            actions.append(.useListener(.active))
            actions.append(.sendServer(self.rules.activeListenerReady(kind: request.serverVerb, host: host, port: port)))
        case (.translatedPassive(let request), .translatedPassive(let clientPort, let host, let serverPort)):
            // The client's 227/229 waits for the server's 200 to this PORT/EPRT.
            self.passivePort = clientPort
            let command = self.rules.activeListenerReady(
                kind: request.serverVerb,
                host: host,
                port: serverPort,
                answering: request.kind
            )
            actions.append(.useListener(.passive))
            actions.append(.sendServer(command))
        case (.translatedActive(let request), .translatedActive):
            self.activeListenerOpen = true
            actions.append(.useListener(.active))
            actions.append(.reply(self.rules.activeReply(kind: request.kind)))
        default:
            // Not what the session waits for: it cannot be used, and the wait goes on.
            actions.append(.discardListener)
            return wait
        }
        return self.proceed(into: &actions)
    }

    mutating func listenerFailed(_ failure: DataListenerFailure, for wait: DataListenerWait, into actions: inout [Action]) -> DataListenerWait? {
        actions.append(.reply(wait.reply(for: failure)))
        return self.proceed(into: &actions)
    }

    /// The passive listener on `port` timed out with no client.
    mutating func listenerExpired(port: Int) {
        guard self.passivePort == port else { return }
        self.passivePort = nil
        self.passiveExpired = true
    }

    mutating func closeListeners(into actions: inout [Action]) {
        self.passivePort = nil
        self.passiveExpired = false
        self.activeListenerOpen = false
        actions.append(.closeListeners)
    }
}
