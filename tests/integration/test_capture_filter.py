"""`ftplb show flows --bpf SESSION`: the tcpdump filter of one control session compiles, and a
real capture with it on loopback holds that session's control and data connections (passive and
active, LIST and RETR) on both sides of the balancer, while another session from another client
address, transferring at the same time through another server, and the health checks of the
traced session's server, are left out.

Address plan of this file (apart from the other modules' 127.0.10.x-63.x and 127.0.91-92.x):
    127.0.95.1:21        the virtual service, advertised as is, passive ports 51400-51449,
                         active source port 20
    127.0.95.1:9021      its admin API
    127.0.95.5           the traced client
    127.0.95.6           the other client
    127.0.96.1           ftplb's source address towards the servers
    127.0.96.11-12:21    pyftpdlib c1, c2; passive 51500+100i..+99
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import ftpenv
from test_pools import wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.95.1"
ADMIN = f"{VIP}:9021"
TRACED = "127.0.95.5"
OTHER = "127.0.95.6"
SOURCE = "127.0.96.1"
SERVERS = {"c1": "127.0.96.11", "c2": "127.0.96.12"}
PASSIVE = (51400, 51449)
FILE_SIZE = 200_000


@pytest.fixture
def farm(workdir, ftp_user):
    running = {}
    payload = os.urandom(FILE_SIZE)
    try:
        for index, (name, host) in enumerate(SERVERS.items()):
            root = workdir / f"root-capture-{name}"
            ftpenv.populate_root(root, name)
            (root / "file.bin").write_bytes(payload)
            (root / "file.bin").chmod(0o644)
            passive = (51500 + 100 * index, 51599 + 100 * index)
            running[name] = ftpenv.start_pyftpdlib(workdir, f"capture-{name}", host, 21, passive, root)
        yield running
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture
def balancer(workdir, farm):
    service = {
        "name": "capture", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": PASSIVE,
        "source_address": SOURCE, "algorithm": "round_robin", "active_source_port": 20,
        "health_check": {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 1, "fall": 2},
        "servers": [{"name": name, "address": f"{host}:21"} for name, host in SERVERS.items()],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }
    config = workdir / "capture.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], admin={"listen": ADMIN}))
    ftpenv.ensure_port_free(VIP, 9021)
    process = ftpenv.start_ftplb_file(workdir, "capture", config, [(VIP, 21)])
    try:
        ftpenv.wait_for_tcp(VIP, 9021, proc=process)
        yield process
    finally:
        process.stop()


def ftplb(*args: str) -> subprocess.CompletedProcess:
    argv = [str(ftpenv.ftplb_binary()), *args, "--admin", ADMIN]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def show(view: str) -> dict:
    result = ftplb("show", view, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def session_of(client_host: str) -> dict:
    found = [s for s in show("sessions")["sessions"] if s["client"].startswith(client_host + ":")]
    assert len(found) == 1, found
    return found[0]


class Capture:
    """tcpdump on lo with a filter, writing a file; `stop()` (in a finally) ends it."""

    def __init__(self, workdir, expression: str):
        self.path = workdir / "session.pcap"
        self.log = workdir / "tcpdump.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-n", "-w", str(self.path), expression],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        wait_until(lambda: "listening on" in self.log.read_text() or self.proc.poll() is not None, 10,
                   "tcpdump listening")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def connections(self) -> set[tuple[str, int, str, int]]:
        """Every TCP connection seen, as (address, port, address, port) in the order of its
        first packet."""
        result = subprocess.run(["tcpdump", "-r", str(self.path), "-nn", "tcp"], capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        seen: set[tuple[str, int, str, int]] = set()
        pattern = re.compile(r" IP (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+):")
        for line in result.stdout.splitlines():
            match = pattern.search(line)
            assert match, f"unexpected line in the capture: {line}"
            a, ap, b, bp = match.group(1), int(match.group(2)), match.group(3), int(match.group(4))
            if (b, bp, a, ap) not in seen:
                seen.add((a, ap, b, bp))
        return seen


def transfers(ftp: ftpenv.FTPClient, scratch, name: str) -> None:
    """LIST and RETR in passive (PASV) and active (PORT) mode."""
    for mode in ("pasv", "port"):
        ftp.mode = mode
        lines: list[str] = []
        ftp.retrlines("LIST", lines.append)
        assert any("file.bin" in line for line in lines), lines
        local = scratch / f"{name}-{mode}.bin"
        ftpenv.ftplib_retrieve(ftp, "file.bin", local)
        assert local.stat().st_size == FILE_SIZE


@pytest.mark.timeout(120)
def test_the_filter_captures_one_session_on_both_sides_and_nothing_of_another(workdir, balancer, scratch):
    wait_until(lambda: all(s["health"] == "up" for s in show("pools")["pools"][0]["servers"]), 15,
               "both servers up")
    traced = ftpenv.open_ftp(VIP, 21, source=TRACED)
    other = None
    capture = None
    try:
        other = ftpenv.open_ftp(VIP, 21, source=OTHER)
        mine, theirs = session_of(TRACED), session_of(OTHER)
        assert mine["server"] != theirs["server"], "round robin puts the two sessions on the two servers"

        printed = ftplb("show", "flows", "--bpf", str(mine["id"]))
        assert printed.returncode == 0, printed.stderr
        lines = printed.stdout.splitlines()
        assert lines[0].startswith("# client side: control ") and lines[1].startswith("# server side: control ")
        expression = lines[-1]
        parts = json.loads(ftplb("show", "flows", "--bpf", str(mine["id"]), "--json").stdout)
        assert parts["filter"] == expression and parts["session"] == mine["id"]
        assert expression == f"({parts['client_side']['filter']}) or ({parts['server_side']['filter']})"
        compiled = subprocess.run(["tcpdump", "-d", "-i", "lo", expression], capture_output=True, text=True,
                                  timeout=30)
        assert compiled.returncode == 0, compiled.stderr

        capture = Capture(workdir, expression)
        errors: list[BaseException] = []

        def other_session() -> None:
            try:
                transfers(other, scratch, "other")
            except BaseException as error:  # reported by the main thread
                errors.append(error)

        thread = threading.Thread(target=other_session)
        thread.start()
        transfers(traced, scratch, "traced")
        thread.join(60)
        assert not thread.is_alive() and not errors, errors
        traced.quit()
        other.quit()
        time.sleep(0.5)  # health checks keep running: let some pass while capturing
        capture.stop()

        seen = capture.connections()
        client_host, client_port = mine["client_side"]["client"].rsplit(":", 1)
        balancer_host, balancer_port = mine["server_side"]["balancer"].rsplit(":", 1)
        server_host = mine["server_side"]["server"].rsplit(":", 1)[0]

        def between(a: str, b: str) -> list[tuple[str, int, str, int]]:
            return [c for c in seen if {c[0], c[2]} == {a, b}]

        client_side = between(client_host, VIP)
        server_side = between(balancer_host, server_host)
        assert len(client_side) + len(server_side) == len(seen), f"other packets caught: {sorted(seen)}"
        # Client side: the control connection, two passive data connections into the range,
        # two active ones from VIP:20.
        assert any({c[1], c[3]} == {int(client_port), 21} for c in client_side), client_side
        passive = [c for c in client_side if c[2] == VIP and PASSIVE[0] <= c[3] <= PASSIVE[1]]
        active = [c for c in client_side if c[0] == VIP and c[1] == 20]
        assert len(passive) == 2 and len(active) == 2, sorted(client_side)
        # Server side: the control connection and the four data connections, no health check.
        assert any({c[1], c[3]} == {int(balancer_port), 21} for c in server_side), server_side
        on_control_port = [c for c in server_side if 21 in (c[1], c[3])]
        assert len(on_control_port) == 1, f"health checks or other control connections caught: {on_control_port}"
        assert len(server_side) == 5, sorted(server_side)
        # Nothing of the other session's client or server.
        other_server = SERVERS[theirs["server"]]
        assert not [c for c in seen if OTHER in (c[0], c[2]) or other_server in (c[0], c[2])]
    finally:
        if capture is not None:
            capture.stop()
        for ftp in (traced, other):
            if ftp is not None:
                ftp.close()


@pytest.mark.timeout(60)
def test_an_unknown_session_or_another_view_is_refused_clearly(balancer):
    result = ftplb("show", "flows", "--bpf", "999999")
    assert result.returncode == 1
    assert "no control session 999999 is running" in result.stderr, result.stderr
    result = ftplb("show", "pools", "--bpf", "1")
    assert result.returncode != 0 and "--bpf goes with flows" in result.stderr, result.stderr
