import FTPBalancer
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGUSR2: a seamless upgrade. This process starts its successor (the binary now at its path,
/// with the same arguments) and hands it the listening sockets; once the successor serves them,
/// this one stops accepting, lets its sessions and transfers end by themselves (`upgrade_drain`)
/// and exits. If the successor fails to start, this process serves on as before.
struct UpgradeSignal {
    let balancer: Balancer
    let successor: SuccessorProcess?
    let logger: Logger

    func run(stopping serviceGroup: ServiceGroup) async {
        let signals = await UnixSignalsSequence(trapping: .sigusr2)
        for await _ in signals {
            if self.balancer.listeningSockets.isHandedOver {
                self.logger.warning("upgrade: already handed over to a new process; this one is draining")
                continue
            }
            guard let successor = self.successor else {
                self.logger.error("upgrade: cannot find this process's binary (/proc/self/exe); serving on")
                continue
            }
            let sockets = self.balancer.listeningSockets.handOverList
            self.logger.notice(
                "upgrade: starting a new ftplb process",
                metadata: [
                    "ftp.executable": "\(successor.executable)",
                    "ftp.sockets": "\(sockets.map(\.key).joined(separator: ", "))",
                ]
            )
            let started: SuccessorProcess.Started
            do {
                started = try await successor.start(handing: sockets)
            } catch {
                self.logger.error("upgrade failed: \(error); this process serves on")
                continue
            }
            // Before this process exits, so that systemd follows the new one.
            SystemdNotification.send("MAINPID=\(started.pid)")
            await self.balancer.handOver(successor: started.pid)
            started.acceptNow()
            await serviceGroup.triggerGracefulShutdown()
        }
    }
}
