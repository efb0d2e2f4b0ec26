"""One node's part in high availability: /healthz, listen_freebind, misrouted data connections.

One namespace ftplbha<pid>-node-n, everything on its loopback:
    10.78.9.1:21     the VIP, absent until the freebind test adds it
    10.78.9.11:21    vsftpd (passive 49000-49099)
    10.78.9.101-103  three client addresses
    127.0.0.1:9021   ftplb's admin API (the namespace's own loopback); ftplb passive 49200-49299
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

import ftpenv
import ha_topology
from ha_topology import Lab, start_ftplb, wait_until

pytestmark = pytest.mark.balancer_only(reason="listen_freebind and /healthz are ftplb's")

VIP, SERVER, CLIENT, OTHER, THIRD = "10.78.9.1", "10.78.9.11", "10.78.9.101", "10.78.9.102", "10.78.9.103"
PASSIVE = (49200, 49299)
HEALTHZ = "http://127.0.0.1:9021/healthz"


@pytest.fixture(scope="module")
def node(workdir, big_file, ftp_user):
    ha_topology.remove_stale()
    lab = Lab("node", workdir)
    left: list[str] = []
    try:
        ns = lab.add("n")
        for address in (SERVER, CLIENT, OTHER, THIRD):
            lab.ip(ns, "addr", "add", f"{address}/32", "dev", "lo")
        root = workdir / "root-ha-node"
        ftpenv.populate_root(root, "ha-node-vsftpd", big_file.path)
        server = ftpenv.start_vsftpd(workdir, "ha-node-vsftpd", SERVER, 21, (49000, 49099), root, tls=False, ns=ns)
        lab.track(server.process)
        yield lab, ns
        server.stop()
    finally:
        left = lab.destroy()
    assert not left, f"processes not stopped by their tests: {left}"


def service(freebind: bool = True) -> dict:
    return ha_topology.ftplb_service("node", VIP, PASSIVE, [SERVER], freebind=freebind)


@pytest.mark.parametrize("relay", ["splice", "copy"])
def test_freebind_listens_before_the_vip_arrives_and_serves_every_mode_once_it_does(node, relay):
    lab, ns = node
    balancer = start_ftplb(lab, f"ha-node-{relay}", ns, [service()], relay=relay)
    try:
        listening = lab.run_in(ns, ["ss", "-Hltn", "sport = :21"]).stdout.decode()
        assert f"{VIP}:21" in listening, listening
        assert f"{VIP}/" not in lab.ip(ns, "addr", "show", "dev", "lo").stdout.decode()
        status, body = lab.http(ns, HEALTHZ)
        assert status == 200 and json.loads(body)["status"] == "ready", body
        lab.ip(ns, "addr", "add", f"{VIP}/32", "dev", "lo")
        jobs = [{"source": CLIENT, "mode": mode} for mode in ftpenv.MODES]
        results = lab.client(ns, "batch", "--host", VIP, "--jobs", json.dumps(jobs))
        assert [r["server_id"] for r in results] == ["ha-node-vsftpd"] * 4, results
    finally:
        lab.ip(ns, "addr", "del", f"{VIP}/32", "dev", "lo", check=False)
        balancer.stop()


def test_without_freebind_an_absent_vip_is_refused_at_start_with_the_key_to_set(node):
    lab, ns = node
    config = lab.workdir / "ha-node-plain.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service(freebind=False)]))
    result = lab.run_in(ns, [str(ftpenv.ftplb_binary()), "run", "--config", str(config)], timeout=30)
    assert result.returncode == 1, result
    assert "set listen_freebind: true" in result.stderr.decode(), result.stderr.decode()[-2000:]


MISROUTE = r"""
import socket, sys
sys.path.insert(0, sys.argv[1])
import ftpenv, ftplib
vip, client, other = sys.argv[2:5]
ftp = ftpenv.open_ftp(vip, 21, "pasv", timeout=10, source=client)
host, port = ftplib.parse227(ftp.sendcmd("PASV"))
refused = []
for _ in range(2):
    with socket.create_connection((host, port), timeout=10, source_address=(other, 0)) as stray:
        refused.append(stray.recv(1) == b"")
# The port still waits for its own client, which gets its listing.
lines = []
with socket.create_connection((host, port), timeout=10, source_address=(client, 0)) as data:
    ftp.sendcmd("TYPE A")
    ftp.putcmd("LIST")
    reply = ftp.getresp()
    lines = data.makefile("rb").read().splitlines()
print(refused, reply[:3], len(lines))
"""


CLOSED_PORT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5, source_address=(sys.argv[3], 0))
    print("connected")
except ConnectionRefusedError:
    print("refused")
"""


def test_a_data_connection_from_another_client_is_counted_and_logged_once_per_address(node):
    lab, ns = node
    lab.ip(ns, "addr", "add", f"{VIP}/32", "dev", "lo")
    balancer = start_ftplb(lab, "ha-node-misroute", ns, [service()])
    try:
        assert ha_topology.metric(lab, ns, "ftplb_misrouted_data_connections_total") == 0
        result = lab.run_in(ns, [ftpenv.SYSTEM_PYTHON, "-c", MISROUTE, str(ftpenv.HERE), VIP, CLIENT, OTHER])
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        assert result.stdout.decode().split()[:3] == ["[True,", "True]", "150"], result.stdout
        assert ha_topology.metric(lab, ns, "ftplb_misrouted_data_connections_total") == 2
        # A port no session holds: the kernel refuses it, the raw-socket watch counts it.
        for _ in range(2):
            result = lab.run_in(ns, [ftpenv.SYSTEM_PYTHON, "-c", CLOSED_PORT, VIP, str(PASSIVE[1]), THIRD])
            assert result.stdout.decode().strip() == "refused", result
        wait_until("the closed-port attempts counted",
                   lambda: ha_topology.metric(lab, ns, "ftplb_misrouted_data_connections_total") == 4, timeout=10)
        warnings = [line for line in balancer.log_text().splitlines() if "misrouted data connection:" in line]
        assert len(warnings) == 2 and OTHER in warnings[0] and THIRD in warnings[1], warnings
    finally:
        lab.ip(ns, "addr", "del", f"{VIP}/32", "dev", "lo", check=False)
        balancer.stop()


def synwatch_threads(pid: int) -> int:
    return sum((task / "comm").read_text().strip() == "ftplb-synwatch" for task in Path(f"/proc/{pid}/task").iterdir())


def test_a_reload_moves_the_watch_to_the_new_passive_range(node):
    lab, ns = node
    lab.ip(ns, "addr", "add", f"{VIP}/32", "dev", "lo")
    balancer = start_ftplb(lab, "ha-node-reload", ns, [service()])
    try:
        assert synwatch_threads(balancer.pid) == 1
        config = lab.workdir / "ha-node-reload.yaml"
        config.write_text(config.read_text().replace(f"{PASSIVE[0]}-{PASSIVE[1]}", "49300-49399"))
        balancer.proc.send_signal(signal.SIGHUP)
        wait_until("the reload", lambda: "configuration reloaded" in balancer.log_text(), timeout=10)
        assert synwatch_threads(balancer.pid) == 1
        for port in (PASSIVE[1], 49399):  # the old range's attempt is no longer watched
            result = lab.run_in(ns, [ftpenv.SYSTEM_PYTHON, "-c", CLOSED_PORT, VIP, str(port), THIRD])
            assert result.stdout.decode().strip() == "refused", result
        wait_until("the new range's attempt counted",
                   lambda: ha_topology.metric(lab, ns, "ftplb_misrouted_data_connections_total") >= 1, timeout=10)
        assert ha_topology.metric(lab, ns, "ftplb_misrouted_data_connections_total") == 1
        assert "ftp.port=49399" in balancer.log_text()
    finally:
        lab.ip(ns, "addr", "del", f"{VIP}/32", "dev", "lo", check=False)
        balancer.stop()


HOLD_TRANSFER = r"""
import sys
sys.path.insert(0, sys.argv[1])
import ftpenv
ftp = ftpenv.open_ftp(sys.argv[2], 21, "pasv", timeout=20, source=sys.argv[3])
conn, _ = ftp.ntransfercmd("RETR big.bin")
print("transferring", flush=True)
sys.stdin.read()
conn.close()
"""


def test_healthz_says_shutting_down_while_a_transfer_drains(node):
    lab, ns = node
    lab.ip(ns, "addr", "add", f"{VIP}/32", "dev", "lo")
    balancer = start_ftplb(lab, "ha-node-drain", ns, [service()])
    holder = subprocess.Popen(ftpenv.ns_prefix(ns) + [ftpenv.SYSTEM_PYTHON, "-c", HOLD_TRANSFER,
                                                       str(ftpenv.HERE), VIP, CLIENT],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"transferring"
        balancer.proc.send_signal(signal.SIGTERM)
        # Bounded by the 2 s shutdown_grace; afterwards the admin API is gone (status 0).
        status, body = wait_until("/healthz 503", lambda: (lambda r: r if r[0] != 200 else None)(lab.http(ns, HEALTHZ)),
                                  timeout=10, interval=0.05)
        assert status == 503, (status, body)
        assert json.loads(body) == {"status": "not_ready", "reason": "shutting down"}, body
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        lab.ip(ns, "addr", "del", f"{VIP}/32", "dev", "lo", check=False)
        balancer.stop()
    deadline = time.monotonic() + 10
    while balancer.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not balancer.alive()
