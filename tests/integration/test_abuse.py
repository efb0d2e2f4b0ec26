"""Abuse from clients, against real peers: a thousand idle connections that never log in, from
one address and from many; a port scanner sweeping the passive range while a real client
downloads. (The admin API's wrong-token limit is in test_abuse_admin.py.)

Address plan of this file (apart from the other modules' addresses):
    127.0.112.1:21        the virtual service (one balancer at a time), passive 52300-52319
    127.0.112.2           ftplb's source address towards the server
    127.0.112.11:21       pyftpdlib, passive 52340-52359
    127.0.113.x, 127.0.114.x   client addresses: the idle crowd, the scanner, real clients
"""

from __future__ import annotations

import errno
import hashlib
import resource
import socket
import threading
from pathlib import Path

import pytest

import ftpenv
from ftpenv import Control
from test_session_bounds import rss_kib

pytestmark = pytest.mark.balancer_only

VIP = "127.0.112.1"
SOURCE = "127.0.112.2"
SERVER = "127.0.112.11"
PASSIVE = (52300, 52319)
IDLE = 1000
GREETING = "Example FTP ready."


@pytest.fixture(scope="module")
def abuse_server(workdir, ftp_user):
    root = ftpenv.make_world_readable_dir(workdir / "root-abuse")
    ftpenv.populate_root(root, "abuse")
    payload = root / "payload.bin"
    sha = ftpenv.make_random_file(payload, 8 * ftpenv.MIB)
    payload.chmod(0o644)
    server = ftpenv.start_pyftpdlib(workdir, "abuse", SERVER, 21, (52340, 52359), root)
    yield server, sha
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def enough_descriptors():
    """A thousand client sockets here, and as many in the balancer, which inherits the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 8192)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def start_balancer(workdir: Path, name: str, limits: dict | None = None, greeting: str | None = GREETING,
                   relay: str = "splice"):
    service = {
        "name": name, "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": PASSIVE,
        "source_address": SOURCE, "health_check": {"type": "none"}, "greeting": greeting,
        "limits": limits, "servers": [f"{SERVER}:21"], "timeouts": ftpenv.TEST_TIMEOUTS,
    }
    config = workdir / f"{name}.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], data_path={"relay": relay}))
    return ftpenv.start_ftplb_file(workdir, name, config, [(VIP, 21)])


def server_connections() -> int:
    """Established TCP connections to the server's control port, from anyone."""
    out = ftpenv.run(["ss", "-Htn", "state", "established", f"( dport = :21 and dst {SERVER} )"]).stdout
    return len(out.decode().splitlines())


def full_session(source: str, sha: str) -> None:
    ftp = ftpenv.open_ftp(VIP, 21, "epsv", timeout=30, source=source)
    try:
        digest = hashlib.sha256()
        ftp.retrbinary("RETR payload.bin", digest.update, blocksize=256 * 1024)
        assert digest.hexdigest() == sha
        ftp.quit()
    finally:
        ftp.close()


def open_idle(sources: list[str]) -> tuple[list[Control], list[int]]:
    """One connection per entry of `sources`, each reading its greeting and nothing more:
    (the connections still open, the greeting code of each)."""
    held, codes = [], []
    for source in sources:
        ctl = Control(VIP, 21, timeout=15, source=source)
        codes.append(ctl.greeting.code if ctl.greeting else 0)
        if ctl.greeting is not None and ctl.greeting.code == 220:
            held.append(ctl)
        else:
            ctl.close()
    return held, codes


def test_a_thousand_idle_connections_from_one_address_get_the_per_client_limit(workdir, abuse_server):
    _, sha = abuse_server
    process = start_balancer(workdir, "abuse-idle-one", limits={"max_unauthenticated_per_client": 8})
    held: list[Control] = []
    try:
        held, codes = open_idle(["127.0.113.10"] * IDLE)
        assert codes.count(220) == 8 and codes.count(421) == IDLE - 8, \
            {code: codes.count(code) for code in set(codes)}
        assert server_connections() == 0, "an idle connection holds a server connection"
        # Another client is served meanwhile, with a transfer.
        for source in ("127.0.113.11", "127.0.113.12"):
            full_session(source, sha)
        # The eight held ones are still there, greeted and waiting.
        assert all(ctl.cmd("NOOP").code == 200 for ctl in held)
        assert process.log_text().count("unauthenticated_limit") >= IDLE - 8
    finally:
        for ctl in held:
            ctl.close()
        process.stop()


def test_a_thousand_idle_connections_from_many_addresses_cost_no_server_connection(workdir, abuse_server):
    _, sha = abuse_server
    process = start_balancer(workdir, "abuse-idle-many", limits={"max_unauthenticated_per_client": 8})
    sources = [f"127.0.{113 + n % 2}.{1 + (n // 2) % 250}" for n in range(IDLE)]  # 500 addresses, 2 each
    held: list[Control] = []
    try:
        baseline, rss = ftpenv.fd_count(process.pid), rss_kib(process.pid)
        held, codes = open_idle(sources)
        assert codes.count(220) == IDLE, {code: codes.count(code) for code in set(codes)}
        assert server_connections() == 0, f"{server_connections()} server connections for {IDLE} idle clients"
        # The balancer holds one descriptor per idle client, and nothing towards the server.
        descriptors = ftpenv.fd_count(process.pid) - baseline
        assert descriptors < IDLE + 50
        print(f"\n{IDLE} idle clients from {len(set(sources))} addresses: 0 server connections, "
              f"{descriptors} more descriptors, {(rss_kib(process.pid) - rss) / IDLE:.1f} KiB of RSS each")
        errors: list[str] = []

        def served(source: str) -> None:
            try:
                full_session(source, sha)
            except Exception as error:  # every failure counts
                errors.append(f"{source}: {type(error).__name__}: {error}")

        clients = [threading.Thread(target=served, args=(f"127.0.113.{251 + n}",)) for n in range(3)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        assert not errors and not any(c.is_alive() for c in clients), errors
        # The first commands of an idle client are answered by the balancer, and USER connects.
        assert held[0].cmd("NOOP").code == 200
        assert held[0].login().code == 230
        assert all(ctl.cmd("NOOP").code == 200 for ctl in held[1:20])
    finally:
        for ctl in held:
            ctl.close()
        process.stop()


def test_without_a_greeting_each_idle_connection_holds_a_server_connection(workdir, abuse_server):
    """The default, for comparison: the server greets, so it is connected at once."""
    process = start_balancer(workdir, "abuse-idle-default", greeting=None)
    held: list[Control] = []
    try:
        held, codes = open_idle([f"127.0.114.{1 + n}" for n in range(20)])
        assert codes == [220] * 20
        assert server_connections() == 20
        assert "pyftpdlib abuse ready." in held[0].greeting.text
    finally:
        for ctl in held:
            ctl.close()
        process.stop()


# --------------------------------------------------------------------------------------
# A port scanner on the passive range


def scan(source: str, ports: range) -> tuple[int, int, list[str]]:
    """Connects to every port from `source`, sends a probe, reads what comes:
    (ports that accepted, ports that refused, what any port sent back)."""
    accepted = refused = 0
    received: list[str] = []
    for port in ports:
        try:
            probe = socket.create_connection((VIP, port), timeout=2, source_address=(source, 0))
        except ConnectionRefusedError:
            refused += 1
            continue
        with probe:
            accepted += 1
            try:
                probe.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = probe.recv(65536)
            except OSError as error:
                assert error.errno in (errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT) or \
                    isinstance(error, socket.timeout), error
                data = b""
            if data:
                received.append(f"port {port}: {data[:80]!r}")
    return accepted, refused, received


@pytest.mark.parametrize("relay", ["splice", "copy"])
def test_a_port_scanner_gets_no_data_and_the_client_gets_its_file(workdir, abuse_server, relay):
    _, sha = abuse_server
    process = start_balancer(workdir, f"abuse-scan-{relay}", greeting=None, relay=relay)
    ports = range(PASSIVE[0], PASSIVE[1] + 1)
    try:
        with Control(VIP, 21, timeout=30, source="127.0.113.20") as ctl:
            ctl.login()
            ctl.cmd("TYPE I")
            port = ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
            # The client's port is open and waits for it; the scanner sweeps the whole range.
            accepted, refused, received = scan("127.0.114.20", ports)
            assert not received, received
            assert accepted >= 1 and accepted + refused == len(ports), (accepted, refused)
            with socket.create_connection((VIP, port), timeout=30, source_address=("127.0.113.20", 0)) as data:
                assert ctl.cmd("RETR payload.bin").code in (125, 150)
                digest, sweeps = hashlib.sha256(), 0
                for _ in range(100_000):
                    chunk = data.recv(65536)
                    if not chunk:
                        break
                    digest.update(chunk)
                    if sweeps < 2:  # and again while the transfer runs
                        sweeps += 1
                        assert not scan("127.0.114.21", ports)[2]
            assert ctl.read_reply(timeout=30).code == 226
            assert digest.hexdigest() == sha, "the client's file was damaged"
        # The scanner was refused and counted as misrouted, logged once per address; never the client.
        log = [line for line in process.log_text().splitlines() if "misrouted data connection:" in line]
        assert any("ftp.peer=127.0.114.20" in line for line in log), log
        assert not any("ftp.peer=127.0.113.20" in line for line in log), log
    finally:
        process.stop()
