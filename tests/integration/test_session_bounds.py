"""What a session may hold, and for how long, against real peers: a server that accepts and
never greets is left for the next; a client that does not log in is closed; idle connections
from one address that have not logged in are limited; a client that floods commands the
balancer answers itself, reading nothing, does not grow the balancer.

Address plan of this file (apart from the other modules' addresses):
    127.0.46.1:21        the virtual services (one balancer at a time), passive 49400-49449
    127.0.46.11:21       a server that accepts connections and never says a word
    127.0.20.12:21       pyftpdlib, the suite's own
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

import ftpenv
from conftest import BALANCER_SOURCE
from ftpenv import Control
from test_pools import wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.46.1"
SILENT = "127.0.46.11"


class SilentServer:
    """Accepts every connection and keeps it open without sending anything."""

    def __init__(self, host: str, port: int = 21):
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.settimeout(0.2)
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent_server():
    server = SilentServer(SILENT)
    yield server
    server.close()


def start_balancer(workdir: Path, name: str, servers: list[str], timeouts: dict, limits: dict | None = None):
    service = {
        "name": name, "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (49400, 49449),
        "source_address": BALANCER_SOURCE, "algorithm": "round_robin",
        "health_check": {"type": "none"}, "limits": limits,
        "servers": servers, "timeouts": {**ftpenv.TEST_TIMEOUTS, **timeouts},
    }
    config = workdir / f"{name}.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service]))
    return ftpenv.start_ftplb_file(workdir, name, config, [(VIP, 21)])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_server_that_never_greets_is_left_for_the_next(workdir, servers, silent_server):
    real = servers.get("pyftpdlib")
    process = start_balancer(workdir, "bounds-greet", [f"{SILENT}:21", real.address], {"server_greeting": "1s"})
    try:
        # Round robin sends every other session to the silent server first.
        for _ in range(4):
            with Control(VIP, 21, timeout=15) as ctl:
                assert ctl.greeting is not None and ctl.greeting.code == 220, ctl.greeting
                ctl.login()
                assert ctl.cmd("QUIT").code == 221
        assert silent_server.accepted, "no session tried the silent server"
        skipped = [line for line in process.log_text().splitlines() if "server sent no greeting" in line]
        assert skipped and all("no greeting within 1s" in line for line in skipped), skipped
    finally:
        process.stop()


def test_with_only_a_silent_server_the_client_gets_421(workdir, silent_server):
    process = start_balancer(workdir, "bounds-silent", [f"{SILENT}:21"], {"server_greeting": "1s"})
    try:
        with Control(VIP, 21, timeout=15) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 421, ctl.greeting
            assert ctl.read_reply(timeout=5) is None, "the connection stayed open after 421"
    finally:
        process.stop()


def test_a_client_that_does_not_log_in_is_closed(workdir, servers):
    process = start_balancer(workdir, "bounds-login", [servers.get("pyftpdlib").address], {"login": "1s"})
    try:
        with Control(VIP, 21, timeout=15) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 220, ctl.greeting
            reply = ctl.read_reply(timeout=10)
            assert reply is not None and reply.code == 421 and "Login timeout" in reply.text, reply
            assert ctl.read_reply(timeout=5) is None, "the connection stayed open after 421"
        with Control(VIP, 21, timeout=15) as ctl:
            ctl.login()
            time.sleep(1.5)  # past the login timeout: a logged-in session stays
            assert ctl.cmd("NOOP").code == 200
        assert "client did not log in in time" in process.log_text()
    finally:
        process.stop()


def test_sessions_that_have_not_logged_in_are_limited_per_address(workdir, servers):
    limits = {"max_unauthenticated_per_client": 2}
    process = start_balancer(workdir, "bounds-unauth", [servers.get("pyftpdlib").address], {}, limits)
    idle = []
    try:
        for _ in range(2):
            idle.append(Control(VIP, 21, timeout=15))
            assert idle[-1].greeting is not None and idle[-1].greeting.code == 220, idle[-1].greeting
        with Control(VIP, 21, timeout=15) as refused:
            assert refused.greeting is not None and refused.greeting.code == 421, refused.greeting
            assert "not logged in" in refused.greeting.text
        idle[0].login()
        with Control(VIP, 21, timeout=15) as accepted:
            assert accepted.greeting is not None and accepted.greeting.code == 220, accepted.greeting
        assert "unauthenticated_limit" in process.log_text()
    finally:
        for ctl in idle:
            ctl.close()
        process.stop()


def test_a_command_flood_that_reads_no_replies_does_not_grow_the_balancer(workdir, servers):
    process = start_balancer(workdir, "bounds-flood", [servers.get("pyftpdlib").address], {})
    flood = socket.create_connection((VIP, 21), timeout=10)
    try:
        flood.recv(4096)  # the greeting; nothing after it is read
        before = rss_kib(process.pid)
        line = b"AUTH TLS\r\n" * 1000
        flood.setblocking(False)
        sent, deadline = 0, time.monotonic() + 5
        # Each command the balancer takes costs it a 534 held for a client that reads none: 5 MB
        # of commands would be about 95 MiB. Instead the kernel's buffers fill and the sender
        # is stopped, the rest of the 5 seconds.
        for _ in range(200_000):
            if time.monotonic() > deadline or sent >= 5_000_000:
                break
            try:
                sent += flood.send(line)
            except BlockingIOError:
                time.sleep(0.001)
        # Loopback's socket buffers take megabytes of commands either way; what counts is what
        # the balancer holds once it has handled all it will: wait until its memory settles.
        during = rss_kib(process.pid)
        for _ in range(40):
            time.sleep(0.5)
            now = rss_kib(process.pid)
            if now == during:
                break
            during = now
        assert during - before < 20 * 1024, f"RSS grew from {before} KiB to {during} KiB ({sent} bytes sent)"
        # Another client is served meanwhile.
        with Control(VIP, 21, timeout=15) as ctl:
            ctl.login()
            assert ctl.cmd("QUIT").code == 221
    finally:
        flood.close()
        process.stop()


@pytest.mark.parametrize("relay", ["splice", "copy"])
def test_a_transfer_after_its_passive_port_timed_out_is_answered_425_at_once(workdir, servers, relay):
    service = {
        "name": f"bounds-expired-{relay}", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (49400, 49449),
        "source_address": BALANCER_SOURCE, "health_check": {"type": "none"},
        "servers": [servers.get("pyftpdlib").address], "timeouts": {**ftpenv.TEST_TIMEOUTS, "passive_accept": "1s"},
    }
    config = workdir / f"bounds-expired-{relay}.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], data_path={"relay": relay}))
    process = ftpenv.start_ftplb_file(workdir, f"bounds-expired-{relay}", config, [(VIP, 21)])
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
            wait_until(lambda: "passive data connection not made in time" in process.log_text(), 10,
                       "the passive port's timeout")
            # The balancer's own 425: the RETR never reaches a server that would wait for a
            # data connection nobody can make.
            reply = ctl.cmd("RETR server-id.txt")
            assert reply.code == 425 and "passive port timed out" in reply.text, reply
            ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
            assert ctl.cmd("NOOP").code == 200
    finally:
        process.stop()
