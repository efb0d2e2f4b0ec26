"""Timeouts and bounded resources: an idle control connection is closed with 421, but not
while its transfer moves; a slow reader does not make ftplb buffer the file; a missing
privilege for source port 20 is reported at start-up."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import ftpenv
from conftest import make_target
from ftpenv import Control

pytestmark = pytest.mark.balancer_only

IDLE_TIMEOUTS = {"control_idle": "2s", "data_idle": "10s"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_epsv_retrieve(ctl: Control, host: str, name: str) -> socket.socket:
    ctl.cmd("TYPE I")
    port = ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
    data = socket.create_connection((host, port), timeout=20)
    ctl.send(f"RETR {name}")
    reply = ctl.read_reply(timeout=10)
    assert reply is not None and reply.code in (125, 150), reply
    return data


def test_idle_control_connection_is_closed_with_421(servers, direct, balancers):
    target = make_target(direct, balancers, [servers.get("pyftpdlib")], key="idle", timeouts=IDLE_TIMEOUTS)
    with Control(target.host, target.port) as ctl:
        ctl.login()
        reply = ctl.read_reply(timeout=8)
        assert reply is not None and reply.code == 421, reply
        assert ctl.read_reply(timeout=3) is None, "the connection stayed open after 421"


def test_a_moving_transfer_keeps_its_idle_control_connection(servers, direct, balancers, big_file):
    target = make_target(direct, balancers, [servers.get("pyftpdlib")], key="idle", timeouts=IDLE_TIMEOUTS)
    with Control(target.host, target.port) as ctl:
        ctl.login()
        data = open_epsv_retrieve(ctl, target.host, "big.bin")
        digest, received = hashlib.sha256(), 0
        slow_until = time.monotonic() + 5  # well past control_idle (2 s)
        with data:
            while chunk := data.recv(65536):
                digest.update(chunk)
                received += len(chunk)
                if time.monotonic() < slow_until:
                    time.sleep(0.05)
        assert received == big_file.size and digest.hexdigest() == big_file.sha256
        reply = ctl.read_reply(timeout=10)
        assert reply is not None and reply.code == 226, reply


def test_a_slow_reader_does_not_make_ftplb_buffer_the_file(servers, direct, balancers, big_file):
    target = make_target(direct, balancers, [servers.get("vsftpd")], key="slow-reader")
    pid = target.balancer.process.pid
    with Control(target.host, target.port) as ctl:
        ctl.login()
        data = open_epsv_retrieve(ctl, target.host, "big.bin")
        with data:
            digest = hashlib.sha256()
            first = data.recv(65536)
            digest.update(first)
            before = rss_kib(pid)
            time.sleep(3)  # vsftpd writes as fast as it can meanwhile
            grown = rss_kib(pid) - before
            received = len(first)
            while chunk := data.recv(1 << 20):
                digest.update(chunk)
                received += len(chunk)
        assert received == big_file.size and digest.hexdigest() == big_file.sha256
        assert ctl.read_reply(timeout=10).code == 226
    # Without backpressure ftplb would hold most of the 64 MiB file.
    assert grown < 8 * 1024, f"ftplb grew by {grown} KiB while the client did not read"


def test_missing_privilege_for_source_port_20_is_reported_at_start(workdir):
    # An unprivileged copy of ftplb: as nobody it may not bind port 20.
    unprivileged = ftpenv.make_world_readable_dir(workdir / "unprivileged") / "ftplb"
    shutil.copy(ftpenv.ftplb_binary(), unprivileged)
    unprivileged.chmod(0o755)
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(unprivileged), "run",
         "--listen", "127.0.10.250:2121", "--server", "127.0.20.250:2121", "--passive-ports", "45000-45009"],
        capture_output=True, timeout=30)
    message = result.stderr.decode()
    assert result.returncode == 1, message
    assert "port 20" in message and "CAP_NET_BIND_SERVICE" in message and "active_source_port: 0" in message, message
