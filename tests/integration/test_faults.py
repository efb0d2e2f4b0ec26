"""Faults of a peer or of the host, with real peers: a server that greets and then never
answers PASV or EPSV; more passive requests than the passive range has ports; the descriptor
limit reached; the transfer log's disk full. Each test states what the client gets and what
the balancer's log says, and that the balancer serves again once the fault is gone.

Address plan of this file (apart from the other modules' addresses):
    127.0.110.1:21       the virtual service (one balancer at a time), passive 52000-52049
    127.0.110.2          the balancer's source address towards the servers
    127.0.110.11:21      pyftpdlib, passive 52100-52149
    127.0.110.12:21      pyftpdlib that never answers PASV or EPSV, passive 52150-52199
    127.0.110.13:21      pyftpdlib offering TLS that never answers AUTH, passive 52200-52249
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from pathlib import Path

import pytest

import ftpenv
from ftpenv import Control
from test_pools import wait_until
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only

VIP = "127.0.110.1"
SOURCE = "127.0.110.2"
SERVER = "127.0.110.11"
HUNG = "127.0.110.12"
HUNG_AUTH = "127.0.110.13"
PASSIVE = (52000, 52049)


@pytest.fixture
def server(workdir):
    root = workdir / "root-faults"
    ftpenv.populate_root(root, "faults")
    running = ftpenv.start_pyftpdlib(workdir, "faults", SERVER, 21, (52100, 52149), root)
    yield running
    running.stop()


@pytest.fixture
def hung_server(workdir):
    root = workdir / "root-hung"
    ftpenv.populate_root(root, "hung")
    running = ftpenv.start_pyftpdlib(workdir, "hung", HUNG, 21, (52150, 52199), root,
                                     extra=["--ignore", "PASV", "--ignore", "EPSV"])
    yield running
    running.stop()


def start_balancer(workdir: Path, name: str, servers: list[str], passive=PASSIVE, timeouts=None,
                   health=None, top=None, nofile: int | None = None, server_tls: dict | None = None):
    service = {
        "name": name, "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": passive,
        "source_address": SOURCE, "health_check": health or {"type": "none"},
        "servers": servers, "timeouts": {**ftpenv.TEST_TIMEOUTS, **(timeouts or {})},
    }
    if server_tls:
        service["server_tls"] = server_tls
    config = workdir / f"{name}.yaml"
    document = {"log_level": "debug", "admin": {"listen": "none"}, **(top or {}), "virtual_services": [service]}
    config.write_text("\n".join(ftpenv.yaml_block(document)) + "\n")
    argv = [str(ftpenv.ftplb_binary()), "run", "--config", str(config)]
    if nofile is not None:
        argv = ["prlimit", f"--nofile={nofile}:{nofile}", "--"] + argv
    ftpenv.ensure_port_free(VIP, 21)
    process = ftpenv.ManagedProcess(name, argv, workdir / f"{name}.log")
    try:
        ftpenv.wait_for_tcp(VIP, 21, proc=process)
    except BaseException:
        process.stop()
        raise
    return process


def log_lines(process, text: str) -> list[str]:
    return [line for line in process.log_text().splitlines() if text in line]


def list_through(ctl: Control) -> bytes:
    """A listing over EPSV: what a later passive request gets, end to end."""
    port = ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
    with socket.create_connection((VIP, port), timeout=15) as data:
        ctl.send("NLST")
        opened = ctl.read_reply(timeout=15)
        assert opened is not None and opened.code in (125, 150), opened
        received = b""
        for _ in range(1000):
            chunk = data.recv(65536)
            if not chunk:
                break
            received += chunk
    done = ctl.read_reply(timeout=15)
    assert done is not None and done.code == 226, done
    return received


@pytest.mark.parametrize("verb", ["PASV", "EPSV"])
def test_a_server_that_never_answers_a_passive_request_gets_the_client_a_421(workdir, hung_server, verb):
    # Checked once an hour: only the session's own failure can take the server down (fall 1).
    health = {"type": "ftp", "interval": "1h", "timeout": "3s", "rise": 1, "fall": 1}
    process = start_balancer(workdir, f"faults-hung-{verb}", [hung_server.address],
                             timeouts={"server_reply": "2s"}, health=health)
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            started = time.monotonic()
            reply = ctl.cmd(verb, timeout=20)
            waited = time.monotonic() - started
            assert reply.code == 421 and "did not answer in time" in reply.text, reply
            assert ctl.read_reply(timeout=5) is None, "the connection stayed open after 421"
        print(f"faults: {verb} to a hung server answered 421 after {waited:.1f}s (server_reply 2s)")
        unanswered = log_lines(process, "server did not answer a command in time")
        assert len(unanswered) == 1 and "no reply within 2s" in unanswered[0], unanswered
        # It failed a session: the server is down for the pool, and the next client hears that
        # no server is available rather than waiting on this one.
        down = log_lines(process, "server is down")
        assert down and "no reply within 2s" in down[0], down
        with Control(VIP, 21, timeout=20) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 421, ctl.greeting
        assert process.alive()
    finally:
        process.stop()


def test_a_server_that_never_answers_the_balancers_auth_tls_gets_the_client_a_421(workdir, ftps_pki):
    """server_tls: the server greets, then never answers the balancer's own AUTH TLS: the
    client's USER, waiting behind it, gets a 421 once server_reply has passed, not at
    control_idle, and the log names the server's silence."""
    root = workdir / "root-hung-auth"
    ftpenv.populate_root(root, "hung-auth")
    hung = ftpenv.start_pyftpdlib(workdir, "hung-auth", HUNG_AUTH, 21, (52200, 52249), root,
                                  extra=["--tls-cert", str(ftps_pki.server.chain), "--tls-key", str(ftps_pki.server.key),
                                         "--ignore", "AUTH"])
    process = None
    try:
        process = start_balancer(workdir, "faults-hung-auth", [hung.address], timeouts={"server_reply": "2s"},
                                 server_tls={"mode": "explicit", "verify": False})
        with Control(VIP, 21, timeout=20) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 220, ctl.greeting
            started = time.monotonic()
            ctl.send(f"USER {ftpenv.FTP_USER}")
            reply = ctl.read_reply(timeout=20)
            waited = time.monotonic() - started
            assert reply is not None and reply.code == 421 and "did not answer in time" in reply.text, reply
        print(f"faults: a server silent after AUTH TLS answered 421 after {waited:.1f}s (server_reply 2s)")
        unanswered = log_lines(process, "server did not answer a command in time")
        assert len(unanswered) == 1 and "no reply within 2s" in unanswered[0], unanswered
        assert process.alive()
    finally:
        if process:
            process.stop()
        hung.stop()


def test_an_exhausted_passive_range_is_answered_425_and_its_ports_come_back(workdir, server):
    process = start_balancer(workdir, "faults-range", [server.address], passive=(52000, 52003),
                             timeouts={"passive_accept": "30s"})
    holders: list[Control] = []
    try:
        # Four sessions hold the range's four ports, each with a passive port no client uses.
        for verb in ("PASV", "EPSV", "PASV", "EPSV"):
            holders.append(Control(VIP, 21, timeout=20))
            holders[-1].login()
            reply = holders[-1].cmd(verb)
            assert reply.code in (227, 229), reply
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            for verb in ("PASV", "EPSV"):
                reply = ctl.cmd(verb)
                assert reply.code == 425 and "no passive port available" in reply.text, reply
            # The session goes on.
            assert ctl.cmd("NOOP").code == 200
            refused = log_lines(process, "could not open a passive port")
            assert len(refused) == 2 and all("all 4 passive ports are in use" in line for line in refused), refused
            for holder in holders:
                assert holder.cmd("QUIT").code == 221
                holder.close()
            holders.clear()
            # Their ports come back once their sessions end (the listeners close just after the 221):
            # the same session gets one, and lists through it.
            wait_until(lambda: ctl.cmd("EPSV").code == 229, 10, "a passive port back")
            assert b"server-id.txt" in list_through(ctl)
        assert process.alive()
    finally:
        for holder in holders:
            holder.close()
        process.stop()


def test_at_the_descriptor_limit_new_sessions_get_421_and_running_ones_go_on(workdir, server):
    limit = 64  # the idle balancer holds about 22
    process = start_balancer(workdir, "faults-nofile", [server.address], nofile=limit)
    running = Control(VIP, 21, timeout=20)
    hogs: list[socket.socket] = []
    try:
        running.login()
        assert b"server-id.txt" in list_through(running)
        greetings = []
        # Connections that log in never hold two descriptors each until the balancer refuses.
        for _ in range(60):
            hog = socket.create_connection((VIP, 21), timeout=15)
            hogs.append(hog)
            greeting = hog.makefile("rb").readline()
            greetings.append(greeting)
            if greeting.startswith(b"421"):
                break
        assert greetings[0].startswith(b"220") and greetings[-1].startswith(b"421 Too many connections on the load balancer"), greetings
        served = sum(1 for greeting in greetings if greeting.startswith(b"220"))
        print(f"faults: with {limit} descriptors, {served} idle sessions were served and the next got 421; "
              f"the balancer held {ftpenv.fd_count(process.pid)}")
        assert ftpenv.fd_count(process.pid) < limit
        # The running session goes on: commands, and a data connection.
        assert running.cmd("NOOP").code == 200
        assert b"server-id.txt" in list_through(running)
        assert log_lines(process, "ftp.refusal=descriptor_limit")
        for hog in hogs:
            hog.close()
        hogs.clear()
        # Descriptors free: new sessions are served again.
        wait_until(lambda: ftpenv.fd_count(process.pid) < 40, 10, "the idle connections' descriptors back")
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            assert b"server-id.txt" in list_through(ctl)
        assert process.alive() and not log_lines(process, "Backtracing")
    finally:
        for hog in hogs:
            hog.close()
        running.close()
        process.stop()


@pytest.fixture
def full_disk(workdir):
    """A 64 KiB tmpfs filled to the last block, and a filler file whose removal frees it."""
    mount = workdir / "logdisk"
    mount.mkdir()
    ftpenv.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", str(mount)])
    try:
        filler = mount / "filler"
        descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for _ in range(1000):
                os.write(descriptor, b"\0" * 4096)
        except OSError:
            pass  # full
        finally:
            os.close(descriptor)
        yield mount, filler
    finally:
        ftpenv.run(["umount", "-l", str(mount)], check=False)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def transfer_log_writable(port: int = 9021) -> str:
    with urllib.request.urlopen(f"http://{VIP}:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return next((line.split()[-1] for line in text.splitlines() if line.startswith("ftplb_transfer_log_writable")), "")


def test_a_full_transfer_log_disk_loses_lines_not_transfers(workdir, server, full_disk):
    mount, filler = full_disk
    transfer_log = mount / "transfers.json"
    top = {"transfer_log": {"path": str(transfer_log), "format": "json"}, "admin": {"listen": f"{VIP}:9021"}}
    process = start_balancer(workdir, "faults-disk", [server.address], top=top)
    try:
        with Control(VIP, 21, timeout=20) as ctl:
            ctl.login()
            assert b"server-id.txt" in list_through(ctl)
            wait_until(lambda: log_lines(process, "transfer log: cannot write"), 10, "the transfer log's failure logged")
            assert transfer_log_writable() in ("0", "0.0")
            before = rss_kib(process.pid)
            # Every listing still works while none of its lines can be written.
            for _ in range(150):
                assert b"server-id.txt" in list_through(ctl)
            after = rss_kib(process.pid)
            assert after - before < 10 * 1024, f"RSS grew from {before} KiB to {after} KiB"
            assert transfer_log.stat().st_size == 0
            # One error, then at most a warning every 10 s: not a line per transfer.
            failed = log_lines(process, "transfer log: cannot write")
            assert len(failed) == 1 and "ftp.error=no space left on device" in failed[0], failed
            assert len(log_lines(process, "transfer log: still cannot write")) <= 2
            # Space again: the next lines are written, whole, and the operator hears of it.
            filler.unlink()
            assert b"server-id.txt" in list_through(ctl)
            wait_until(lambda: log_lines(process, "transfer log: writing again"), 10, "the writer's recovery logged")
            written = transfer_log.read_text().splitlines()
            assert written and all(json.loads(line)["command"] == "NLST" for line in written), written
            assert transfer_log_writable() in ("1", "1.0")
            print(f"faults: full disk: 151 transfers, {len(failed)} error line, RSS {before} -> {after} KiB, "
                  f"{len(written)} line(s) written once space was back")
        assert process.alive()
    finally:
        process.stop()
