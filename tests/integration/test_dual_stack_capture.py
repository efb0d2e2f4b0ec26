"""`ftplb show flows --bpf` for an IPv6 session of a dual-stack service, in netns6's topology
(tag "cap"): the IPv6-only client in front of an IPv4 server. The filter's client side must
use `ip6 host` terms on the IPv6 listener's advertised address (not the service's first, IPv4,
one), compile, and catch the session's control and data connections in a real capture on the
balancer's interfaces, on both sides, in EPSV and EPRT.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest

import ftpenv
import netns6
from netns6 import DualStackTopology
from test_pools import wait_until

pytestmark = pytest.mark.balancer_only

ADMIN = "127.0.0.1:9021"  # the balancer namespace's own loopback
SERVER = netns6.ServerPlan("cap-v4", "vsftpd", 0, "10.81.0.11", 21, (41400, 41449))
PORT, PASSIVE = 2161, (40500, 40519)
VIP6, CLIENT6 = DualStackTopology.VIP6, DualStackTopology.CLIENT6_IP
# Logs in, says "ready", waits for a line, then LIST and RETR in EPSV and EPRT, and quits.
SESSION_SCRIPT = f"""
import sys
sys.path.insert(0, {str(ftpenv.HERE)!r})
import ftpenv
ftp = ftpenv.open_ftp({VIP6!r}, {PORT}, "epsv")
print("ready", flush=True)
sys.stdin.readline()
for mode in ("epsv", "eprt"):
    ftp.mode = mode
    ftp.retrlines("LIST", lambda line: None)
    ftp.retrbinary("RETR small.txt", lambda data: None)
ftp.quit()
print("done", flush=True)
"""
PACKET = re.compile(r" IP6? ([0-9a-f:.]+)\.(\d+) > ([0-9a-f:.]+)\.(\d+):")


@pytest.fixture(scope="module")
def lab(workdir, big_file, ftp_user):
    DualStackTopology.remove_stale()
    topology = DualStackTopology("cap")
    server = None
    process = None
    try:
        topology.create()
        server = netns6.start_server(SERVER, topology, workdir, big_file.path, big_file.path)
        service = {
            "name": "capture6",
            "listen": [netns6.endpoint(DualStackTopology.VIP, PORT), netns6.endpoint(VIP6, PORT)],
            "passive_ports": PASSIVE,
            "health_check": {"type": "none"},
            "timeouts": ftpenv.TEST_TIMEOUTS,
            "servers": [netns6.endpoint(SERVER.host, SERVER.port)],
        }
        config = workdir / "cap-ftplb.yaml"
        config.write_text(ftpenv.ftplb_pools_yaml([service], admin={"listen": ADMIN}))
        process = ftpenv.start_ftplb_file(workdir, "cap-ftplb", config, [(VIP6, PORT), ("127.0.0.1", 9021)],
                                          ns=topology.balancer)
        yield topology
    finally:
        if process is not None:
            process.stop()
        if server is not None:
            server.stop()
        topology.destroy()


def ftplb(topology, *args: str) -> str:
    argv = ftpenv.ns_prefix(topology.balancer) + [str(ftpenv.ftplb_binary()), *args, "--admin", ADMIN]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


def connections(pcap, complete: bool = True) -> set[tuple[str, int, str, int]]:
    """Every TCP connection in the capture, as (address, port, address, port) of its first packet;
    with `complete` false, of a capture still being written (its last packet may be cut)."""
    result = subprocess.run(["tcpdump", "-r", str(pcap), "-nn", "tcp"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 or not complete, result.stderr
    seen: set[tuple[str, int, str, int]] = set()
    for line in result.stdout.splitlines():
        match = PACKET.search(line)
        assert match or not complete, f"unexpected line in the capture: {line}"
        if not match:
            continue
        a, ap, b, bp = match.group(1), int(match.group(2)), match.group(3), int(match.group(4))
        if (b, bp, a, ap) not in seen:
            seen.add((a, ap, b, bp))
    return seen


@pytest.mark.timeout(120)
def test_the_filter_of_an_ipv6_session_uses_ip6_and_catches_its_connections(lab, workdir):
    session = subprocess.Popen(ftpenv.ns_prefix(lab.client6) + [ftpenv.SYSTEM_PYTHON, "-c", SESSION_SCRIPT],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    capture = None
    try:
        assert session.stdout.readline().strip() == "ready", session.stderr.read()
        mine = [s for s in json.loads(ftplb(lab, "show", "sessions", "--json"))["sessions"]
                if s["client"].startswith(f"[{CLIENT6}]:")]
        assert len(mine) == 1, mine
        expression = ftplb(lab, "show", "flows", "--bpf", str(mine[0]["id"])).splitlines()[-1]
        assert f"ip6 host {CLIENT6}" in expression and f"ip6 host {VIP6}" in expression, expression
        assert f"host {DualStackTopology.VIP} " not in expression, expression
        pcap, log = workdir / "cap.pcap", workdir / "cap-tcpdump.log"
        with open(log, "wb") as out:
            capture = subprocess.Popen(ftpenv.ns_prefix(lab.balancer) + [
                # Immediate mode: without it, packets wait in the kernel's buffer block, which
                # tcpdump may not read before it is stopped. A short snapshot (headers are all
                # this needs): with 256 KiB per packet the kernel's buffer holds 8 and, on a busy
                # machine, dropped the rest.
                "tcpdump", "-i", "any", "--immediate-mode", "-s", "160", "-B", "4096", "-U", "-n",
                "-w", str(pcap), expression],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        wait_until(lambda: "listening on" in log.read_text() or capture.poll() is not None, 10, "tcpdump listening")
        assert capture.poll() is None, log.read_text()
        session.stdin.write("go\n")
        session.stdin.flush()
        assert session.stdout.readline().strip() == "done", session.stderr.read()
        assert session.wait(30) == 0
        # tcpdump drops what it has not read yet when it is stopped: first let it write the
        # active data connections of both sides (the assertions below say what is missing).
        try:
            wait_until(lambda: len([c for c in connections(pcap, complete=False) if 20 in (c[1], c[3])]) >= 4, 10,
                       "the active data connections in the capture")
        except AssertionError:
            pass
        os.killpg(capture.pid, signal.SIGINT)
        capture.wait(10)
        assert re.search(r"^0 packets dropped by kernel$", log.read_text(), re.MULTILINE), log.read_text()
        seen = connections(pcap)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(10)
        if capture is not None and capture.poll() is None:
            os.killpg(capture.pid, signal.SIGKILL)
            capture.wait(10)
    client_side = [c for c in seen if {c[0], c[2]} == {CLIENT6, VIP6}]
    server_side = [c for c in seen if {c[0], c[2]} == {"10.81.0.1", SERVER.host}]
    assert len(client_side) + len(server_side) == len(seen), f"other packets caught: {sorted(seen)}"
    # Client side: the control connection, two EPSV data connections into the passive range, two
    # EPRT ones from VIP6:20.
    assert len([c for c in client_side if PORT in (c[1], c[3])]) == 1, client_side
    assert len([c for c in client_side if c[2] == VIP6 and PASSIVE[0] <= c[3] <= PASSIVE[1]]) == 2, client_side
    assert len([c for c in client_side if c[0] == VIP6 and c[1] == 20]) == 2, client_side
    assert len(client_side) == 5, sorted(client_side)
    # Server side, in IPv4: the control connection and the four data connections.
    assert len([c for c in server_side if 21 in (c[1], c[3])]) == 1, server_side
    assert len(server_side) == 5, sorted(server_side)
