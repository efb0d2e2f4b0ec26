import Logging
import NIOCore

@testable import FTPBalancer

/// A data path without sockets: each listener gets the next port of its own, and a test starts
/// and ends the data connection itself through the session, as a relay would.
final class InMemoryDataPath: DataPath, @unchecked Sendable {
    // Used on the test's one embedded loop only.
    final class Listener: TranslatedDataListener, @unchecked Sendable {
        let port: Int
        let serverSidePort: Int
        private(set) var closed = false

        init(port: Int) {
            self.port = port
            self.serverSidePort = port + 1000
        }

        func close() { self.closed = true }
    }

    private(set) var passiveRequests: [PassiveDataRequest] = []
    private(set) var listeners: [Listener] = []
    private weak var observer: (any DataFlowObserver)?

    private func listener(_ eventLoop: any EventLoop, _ observer: any DataFlowObserver) -> EventLoopFuture<Listener> {
        self.observer = observer
        let listener = Listener(port: 40000 + self.listeners.count)
        self.listeners.append(listener)
        return eventLoop.makeSucceededFuture(listener)
    }

    func openPassive(_ request: PassiveDataRequest, on eventLoop: any EventLoop, observer: any DataFlowObserver, logger: Logger) -> EventLoopFuture<any DataListener> {
        self.passiveRequests.append(request)
        return self.listener(eventLoop, observer).map { $0 }
    }

    func openActive(_ request: ActiveDataRequest, on eventLoop: any EventLoop, observer: any DataFlowObserver, logger: Logger) -> EventLoopFuture<any DataListener> {
        self.listener(eventLoop, observer).map { $0 }
    }

    func openTranslatedPassive(_ request: TranslatedPassiveDataRequest, on eventLoop: any EventLoop, observer: any DataFlowObserver, logger: Logger) -> EventLoopFuture<any TranslatedDataListener> {
        self.listener(eventLoop, observer).map { $0 }
    }

    func openTranslatedActive(_ request: TranslatedActiveDataRequest, on eventLoop: any EventLoop, observer: any DataFlowObserver, logger: Logger) -> EventLoopFuture<any DataListener> {
        self.listener(eventLoop, observer).map { $0 }
    }

    /// The client has connected to the last listener, and the server too: bytes move.
    func startFlow(mode: DataConnectionMode = .pasv) -> DataFlow? {
        guard let observer = self.observer else { return nil }
        let flow = DataFlow(mode: mode, observer: observer)
        observer.dataFlowStarted(flow)
        return flow
    }

    func endFlow(_ flow: DataFlow, bytesToClient: Int) {
        let report = DataFlowReport(mode: flow.mode, bytesToClient: bytesToClient, bytesToServer: 0, duration: .milliseconds(3))
        self.observer?.dataFlowEnded(flow, report: report)
    }
}
