import FTPBalancer
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGTERM and SIGINT, trapped by `run` itself rather than by the ServiceGroup, which hears only
/// the first: the first starts the graceful shutdown and says at once what it waits for; a
/// second stops waiting and closes the sessions left.
struct ShutdownSignals {
    let balancer: Balancer
    let logger: Logger

    func run(stopping serviceGroup: ServiceGroup) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        var received = 0
        for await signal in signals {
            received += 1
            if received == 1, self.balancer.endUpgradeDrain() {
                self.logger.notice(
                    "no longer waiting for the sessions to end by themselves (upgrade); shutting down",
                    metadata: ["ftp.signal": "\(signal)"]
                )
            }
            if received == 1 {
                let notice = await self.balancer.shutdownNotice()
                self.logger.notice("\(notice)", metadata: ["ftp.signal": "\(signal)"])
                await serviceGroup.triggerGracefulShutdown()
            } else {
                self.logger.warning(
                    "second signal: stopping now, without waiting for transfers",
                    metadata: ["ftp.signal": "\(signal)"]
                )
                self.balancer.endGraceNow()
            }
        }
    }
}
