"""Reload under load: SIGHUP every second while full sessions run (soak_bed's: login, passive
downloads checked by sha256, an active upload, QUIT), with servers added to and removed from
the file between reloads. Not one session may fail; a session already running on a server the
file dropped goes on to its end there, and a new session goes only to a server of the file in
force when it started.

The suite runs 15 reloads; `FTPLB_RELOAD_SECONDS=60` runs the minute of the issue (one reload a
second, about 70 s in all).

Address plan of this file (apart from the other modules' addresses):
    127.0.112.3:21       the virtual service, passive ports 52320-52329
    127.0.112.4          ftplb's source address towards the servers
    127.0.112.21-24:21   vsftpd r1-r4, passive 52360-52369 ... 52390-52399
    127.0.113.100+N      the clients
"""

from __future__ import annotations

import os
import threading
import time

import pytest

import ftpenv
import soak_bed
from test_pools import Ftplb

pytestmark = pytest.mark.balancer_only

VIP = "127.0.112.3"
SOURCE = "127.0.112.4"
SERVERS = {f"r{n}": (f"127.0.112.{20 + n}", (52350 + 10 * n, 52359 + 10 * n)) for n in range(1, 5)}
# Each step adds or removes a server and keeps one of the last step's, so a session always finds one.
STEPS = [("r1", "r2"), ("r1", "r2", "r3"), ("r2", "r3"), ("r2", "r3", "r4"), ("r3", "r4"),
         ("r1", "r3", "r4"), ("r1", "r4"), ("r1", "r2", "r4")]
RELOADS = int(os.environ.get("FTPLB_RELOAD_SECONDS", "15"))


@pytest.fixture(scope="module")
def reload_servers(workdir, ftp_user):
    running, payload = soak_bed.start_vsftpd_servers(workdir, SERVERS, 256 * 1024)
    yield payload
    for server in running.values():
        server.stop()


def service(names: tuple[str, ...]) -> list[dict]:
    return [{
        "name": "reload", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (52320, 52329),
        "source_address": SOURCE, "health_check": {"type": "tcp", "interval": "500ms", "timeout": "400ms"},
        "servers": [{"name": name, "address": f"{SERVERS[name][0]}:21"} for name in names],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }]


@pytest.mark.timeout(120 + 2 * RELOADS)
def test_reloads_every_second_while_servers_come_and_go_fail_no_session(workdir, reload_servers):
    payload = reload_servers
    upload = os.urandom(64 * 1024)
    lb = Ftplb(workdir, "reload-load", service(STEPS[0]))
    # Version k is in force from its SIGHUP (it may apply at once) until the next one is logged.
    versions: list[tuple[float, float, tuple[str, ...]]] = [(float("-inf"), time.monotonic(), STEPS[0])]
    stop = threading.Event()
    lock = threading.Lock()
    sessions: list[tuple[float, float, float, str, bool]] = []  # start, greeted, end, server, long
    failures: list[str] = []

    def client(index: int) -> None:
        source = f"127.0.113.{100 + index}"
        long = index < 2  # held logged in across two or three reloads before their transfers
        for number in range(100_000):
            if stop.is_set():
                return
            greeted: list[float] = []
            started = time.monotonic()
            try:
                ident = soak_bed.one_session(VIP, 21, source, number, payload, upload,
                                             hold=2.5 if long else 0.0, greeted=greeted, identify=True)
                with lock:
                    sessions.append((started, greeted[0], time.monotonic(), ident, long))
            except Exception as error:  # every failure counts, whatever it is
                with lock:
                    failures.append(f"client {index} session {number}: {type(error).__name__}: {error}")

    clients = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(6)]
    for thread in clients:
        thread.start()
    outcomes = []
    try:
        for step in range(1, RELOADS + 1):
            time.sleep(1.0)
            names = STEPS[step % len(STEPS)]
            sent = time.monotonic()
            outcomes.append(lb.reload(service(names)).message)
            versions[-1] = (versions[-1][0], time.monotonic(), versions[-1][2])
            versions.append((sent, float("inf"), names))
        time.sleep(3.0)  # the last long sessions finish under the last version
        stop.set()
        for thread in clients:
            thread.join(60)
        lb.assert_alive()
        log_tail = lb.process.log_tail(30)
    finally:
        stop.set()
        lb.stop()
    assert not any(thread.is_alive() for thread in clients)
    assert outcomes == ["configuration reloaded"] * RELOADS, outcomes
    total = len(sessions) + len(failures)
    assert not failures, f"{len(failures)} of {total} sessions failed:\n" + "\n".join(failures[:10]) + \
        f"\nlog tail:\n{log_tail}"
    assert len(sessions) >= 10 * RELOADS, f"only {len(sessions)} sessions ran"
    for started, greeted, _, ident, _ in sessions:
        allowed = {name for begin, end, names in versions if begin <= greeted and end >= started for name in names}
        assert ident in allowed, f"a session started at {started:.2f} went to {ident}, not one of {allowed}"
    # Some long sessions outlived their server's place in the file and still finished there.
    in_force_at = lambda t: next(names for begin, end, names in reversed(versions) if begin <= t)
    survivors = [s for s in sessions if s[4] and s[3] not in in_force_at(s[2])]
    print(f"\nreload under load: {RELOADS} reloads, {total} sessions, {len(failures)} failed; "
          f"{len(survivors)} finished on a server the file had dropped")
    assert survivors, "no long session ran on a server while the file dropped it"
