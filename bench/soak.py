#!/usr/bin/python3
"""A long soak: many full FTP sessions through ftplb against real servers, and what the balancer
holds before, at its peak during, and after them.

Each session (tests/integration/soak_bed.py): connect, login, TYPE I, a passive download (PASV
or EPSV in turn; a 64 KiB file checked by sha256), an active upload of 16 KiB (PORT or EPRT in
turn) checked by SIZE, QUIT. The load comes from one worker process per client address, against two
vsftpd servers. Every half second the balancer's open descriptors (/proc/PID/fd), RSS, and the
passive ports and sessions its /metrics reports are read; at the end the script waits until
the balancer is idle again and prints the three readings. Exits 1 if a session failed or the
balancer did not come back to its idle descriptors and ports.

On loopback, as root (vsftpd logs in a system user, the active source port is 20):
    127.0.112.101:21     ftplb, passive ports 52200-52249, admin API on 127.0.112.101:9021
    127.0.112.102        ftplb's source address towards the servers
    127.0.112.111-112:21 vsftpd, passive ports 52250-52274 and 52275-52299
    127.0.114.200+N      the client workers

    sudo bench/soak.py [--sessions 100000] [--clients 8] [--ftplb PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
import ftpenv  # noqa: E402  (the integration suite's real-peer helpers)
import soak_bed  # noqa: E402

VIP = "127.0.112.101"
ADMIN = f"{VIP}:9021"
SOURCE = "127.0.112.102"
SERVERS = {"soak1": ("127.0.112.111", (52250, 52274)), "soak2": ("127.0.112.112", (52275, 52299))}


def start_ftplb(workdir: Path, binary: str) -> ftpenv.ManagedProcess:
    service = {
        "name": "soak", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (52200, 52249),
        "source_address": SOURCE, "health_check": {"type": "tcp", "interval": "2s", "timeout": "1s"},
        "servers": [f"{host}:21" for host, _ in SERVERS.values()], "timeouts": ftpenv.TEST_TIMEOUTS,
    }
    config = workdir / "soak.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], log_level="warning", admin={"listen": ADMIN}))
    os.environ["FTPLB_BIN"] = binary
    return ftpenv.start_ftplb_file(workdir, "ftplb-soak", config, [(VIP, 21)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--ftplb", default=str(REPO / ".build-release" / "release" / "ftplb"))
    args = parser.parse_args()
    ftpenv.ensure_ftp_user()
    workdir = Path(tempfile.mkdtemp(prefix="ftplb-soak-", dir="/tmp"))
    workdir.chmod(0o755)
    servers, payload = soak_bed.start_vsftpd_servers(workdir, SERVERS, 64 * 1024)
    balancer = None
    try:
        balancer = start_ftplb(workdir, args.ftplb)
        time.sleep(3)  # the first health checks: both servers up
        before = soak_bed.read_balancer(balancer.pid, ADMIN)
        readings = [before]
        last_print = [time.monotonic()]

        def sample() -> None:
            readings.append(soak_bed.read_balancer(balancer.pid, ADMIN))
            if time.monotonic() - last_print[0] > 30:
                last_print[0] = time.monotonic()
                total = soak_bed.metric(ADMIN, "ftplb_sessions_total")
                print(f"  {time.strftime('%H:%M:%S')} {total} sessions so far; {readings[-1].describe()}", flush=True)

        sources = [f"127.0.114.{200 + n}" for n in range(args.clients)]
        print(f"soak: {args.sessions} sessions from {args.clients} clients through {args.ftplb}", flush=True)
        done, failures, seconds = soak_bed.run_sessions(VIP, 21, sources, args.sessions, payload,
                                                        os.urandom(16 * 1024), while_running=sample)
        after = soak_bed.settled(balancer.pid, ADMIN, before)
        top = soak_bed.peak(readings)
        print(f"sessions: {done} done, {len(failures)} failed, in {seconds:.0f} s ({done / seconds:.0f} per second)")
        for failure in failures[:20]:
            print(f"  failed: {failure}")
        print(f"before: {before.describe()}")
        print(f"peak:   {top.describe()}")
        print(f"after:  {after.describe()}")
        print(f"ftplb alive: {balancer.alive()}; log: {balancer.log_path}")
        leaked = after.sockets_and_files > before.sockets_and_files or \
            after.pipes > before.pipes + soak_bed.POOLED_PIPE_DESCRIPTORS
        bad = failures or leaked or after.passive_ports or after.sessions
        sys.exit(1 if bad or not balancer.alive() else 0)
    finally:
        if balancer:
            balancer.stop()
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
