"""Cut transfers look cut, with real peers: a data connection that stalls past data_idle is
reset on both sides (both data paths); a server killed mid-RETR or mid-STOR leaves the client a
421, never a 226; a client that resets its data connection mid-transfer has the server side
closed at once, and the balancer's descriptors come back.

Address plan of this file (apart from the other modules' addresses):
    127.0.48.1:21        the virtual service, passive ports 49600-49649
    127.0.48.11:21       a pyftpdlib of this file's own (killed by some tests), passive 49650-49699
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

import ftpenv
from conftest import BALANCER_SOURCE
from ftpenv import Control
from test_pools import wait_until
from test_timeouts import open_epsv_retrieve

pytestmark = pytest.mark.balancer_only

VIP = "127.0.48.1"
SERVER = "127.0.48.11"
BIG = 64 << 20


@pytest.fixture
def server(workdir):
    root = workdir / "root-cut"
    ftpenv.populate_root(root, "cut")
    with open(root / "big.bin", "wb") as big:
        big.truncate(BIG)
    (root / "big.bin").chmod(0o644)
    running = ftpenv.start_pyftpdlib(workdir, "cut", SERVER, 21, (49650, 49699), root)
    yield running
    running.stop()


def start_balancer(workdir: Path, relay: str, data_idle: str = "30s"):
    service = {
        "name": f"cut-{relay}", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (49600, 49649),
        "source_address": BALANCER_SOURCE, "health_check": {"type": "none"},
        "servers": [f"{SERVER}:21"], "timeouts": {**ftpenv.TEST_TIMEOUTS, "data_idle": data_idle},
    }
    config = workdir / f"cut-{relay}.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], data_path={"relay": relay}))
    return ftpenv.start_ftplb_file(workdir, f"cut-{relay}", config, [(VIP, 21)])


def read_to_end(data: socket.socket, limit: float = 30) -> str:
    """Reads until the data connection ends: "reset" or "eof" (or "timeout")."""
    data.settimeout(limit)
    deadline = time.monotonic() + limit
    for _ in range(100_000):
        if time.monotonic() > deadline:
            return "timeout"
        try:
            if not data.recv(1 << 20):
                return "eof"
        except ConnectionResetError:
            return "reset"
        except socket.timeout:
            return "timeout"
    return "timeout"


def open_retrieve(ctl: Control, name: str) -> socket.socket:
    return open_epsv_retrieve(ctl, VIP, name)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.parametrize("relay", ["splice", "copy"])
def test_a_stalled_data_connection_is_reset_on_both_sides(workdir, server, relay):
    process = start_balancer(workdir, relay, data_idle="1s")
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            data = open_retrieve(ctl, "big.bin")
            with data:
                assert data.recv(65536)
                time.sleep(3)  # nothing read: the buffers fill and nothing moves for data_idle
                assert read_to_end(data) == "reset"
            # The server saw its side reset too: it reports the transfer failed.
            reply = ctl.read_reply(timeout=15)
            assert reply is not None and reply.code >= 400, reply
    finally:
        process.stop()


@pytest.mark.parametrize("command", ["RETR", "STOR"])
def test_a_server_killed_mid_transfer_leaves_the_client_a_421(workdir, server, command):
    process = start_balancer(workdir, "splice")
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            if command == "RETR":
                data = open_retrieve(ctl, "big.bin")
                assert data.recv(1 << 20)
            else:
                ctl.cmd("TYPE I")
                port = ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
                data = socket.create_connection((VIP, port), timeout=20)
                ctl.send("STOR upload.bin")
                reply = ctl.read_reply(timeout=10)
                assert reply is not None and reply.code in (125, 150), reply
                data.sendall(b"\0" * (1 << 20))
            os.kill(server.process.pid, signal.SIGKILL)
            with data:
                if command == "STOR":
                    try:
                        for _ in range(200):
                            data.sendall(b"\0" * 65536)
                    except OSError:
                        pass
                read_to_end(data, limit=15)
            reply = ctl.read_reply(timeout=15)
            assert reply is not None and reply.code == 421 and "closed the connection" in reply.text, reply
            assert ctl.read_reply(timeout=5) is None, "the connection stayed open after 421"
        assert process.alive()
    finally:
        process.stop()


def test_a_client_reset_mid_transfer_closes_the_server_side_and_gives_back_what_it_held(workdir, server):
    process = start_balancer(workdir, "splice")
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            # A whole transfer first: the relay thread keeps emptied pipes for the next ones.
            with open_retrieve(ctl, "server-id.txt") as warm:
                assert read_to_end(warm) == "eof"
            assert ctl.read_reply(timeout=10).code == 226
            baseline = open_fds(process.pid)
            data = open_retrieve(ctl, "big.bin")
            assert data.recv(1 << 20)
            data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            data.close()
            # The server's side of the data connection is reset at once: it says the transfer failed.
            reply = ctl.read_reply(timeout=15)
            assert reply is not None and reply.code >= 400, reply
            wait_until(lambda: open_fds(process.pid) <= baseline, 10, "the data connection's descriptors back")
            assert ctl.cmd("NOOP").code == 200
    finally:
        process.stop()
