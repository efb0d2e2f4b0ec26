"""Seamless upgrades under load: client threads run sessions back to back (login, RETR and STOR
of a few MiB in passive and active mode, sha256 checked, QUIT) while the running ftplb gets
SIGUSR2, starts a second process from the same binary, hands it the listening sockets and
drains; then the second one is upgraded the same way. No session may fail and no transfer be
cut; a session that was mid-transfer at each hand-over finishes in the old process, which then
exits by itself; the last one serves on.

Address plan of this file (its own farm, apart from the other modules' addresses):
    127.0.47.1:21        the virtual service, passive ports 49500-49539
    127.0.47.1:9021      its admin API
    127.0.47.2           ftplb's source address towards the servers
    127.0.47.11-12:21    pyftpdlib u1, u2; passive 49540-49569 and 49570-49599
    127.0.47.20-24       the clients
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import re
import signal
import threading
import time
import urllib.request

import pytest

import ftpenv

pytestmark = pytest.mark.balancer_only

VIP = "127.0.47.1"
ADMIN = f"{VIP}:9021"
SOURCE = "127.0.47.2"
SERVERS = {"u1": ("127.0.47.11", (49540, 49569)), "u2": ("127.0.47.12", (49570, 49599))}
CLIENTS = [f"127.0.47.{20 + index}" for index in range(4)]
PAYLOAD_SIZE = 3 * 1024 * 1024
UPLOAD_SIZE = 2 * 1024 * 1024
# Bounds of the load, in count and time: the test's figures come from within these.
MAX_SESSIONS_PER_CLIENT = 300
SESSIONS_PER_PHASE = 100
UPGRADES = 2
WAIT = 60.0


@pytest.fixture(scope="module")
def upgrade_farm(workdir, ftp_user):
    payload = os.urandom(PAYLOAD_SIZE)
    roots, running = {}, {}
    try:
        for name, (host, passive) in SERVERS.items():
            root = ftpenv.make_world_readable_dir(workdir / f"root-upgrade-{name}")
            (root / "payload.bin").write_bytes(payload)
            roots[name] = root
            running[name] = ftpenv.start_pyftpdlib(workdir, f"upgrade-{name}", host, 21, passive, root)
        yield roots, hashlib.sha256(payload).hexdigest()
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture
def old_balancer(workdir, upgrade_farm):
    service = {
        "name": "upgrade", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (49500, 49539),
        "source_address": SOURCE, "active_source_port": 0, "algorithm": "round_robin",
        "servers": [{"name": name, "address": f"{host}:21"} for name, (host, _) in SERVERS.items()],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }
    config = workdir / "upgrade.yaml"
    text = ftpenv.ftplb_pools_yaml([service], log_level="info", admin={"listen": ADMIN})
    config.write_text("upgrade_drain: 60s\n" + text)
    ftpenv.ensure_port_free(VIP, 9021)
    process = ftpenv.start_ftplb_file(workdir, "upgrade", config, [(VIP, 21)])
    try:
        ftpenv.wait_for_tcp(VIP, 9021, proc=process)
        yield process
    finally:
        process.stop()
        stop_group(process.pid)


def stop_group(group: int) -> None:
    """SIGTERM, then SIGKILL after a bounded wait, to what is left of the old process's group:
    the successor it started (not our child) is in it, even after the old process exited."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        deadline = time.monotonic() + wait
        try:
            os.killpg(group, sig)
            while time.monotonic() < deadline:
                os.killpg(group, 0)
                time.sleep(0.05)
        except ProcessLookupError:
            return


def pid_alive(pid: int) -> bool:  # not a zombie either
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Load:
    """Client threads running full sessions until told to stop (or their bound), counting
    sessions and transfers, and keeping every failure's text."""

    def __init__(self, roots, payload_sha: str):
        self.roots = roots
        self.payload_sha = payload_sha
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.sessions = 0
        self.transfers = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(index,), daemon=True)
                        for index in range(len(CLIENTS))]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=WAIT)
        assert not any(thread.is_alive() for thread in self.threads), "a client thread hung"

    def count(self) -> int:
        with self.lock:
            return self.sessions

    def client(self, index: int) -> None:
        upload = os.urandom(UPLOAD_SIZE)
        upload_sha = hashlib.sha256(upload).hexdigest()
        for number in range(MAX_SESSIONS_PER_CLIENT):
            if self.stop.is_set():
                return
            passive = (index + number) % 2 == 0
            try:
                transfers = self.session(index, number, passive, upload, upload_sha)
            except Exception as error:  # every failure counts, whatever its kind
                with self.lock:
                    self.failures.append(f"client {index} session {number} ({'passive' if passive else 'active'}): {error!r}")
                continue
            with self.lock:
                self.sessions += 1
                self.transfers += transfers

    def session(self, index: int, number: int, passive: bool, upload: bytes, upload_sha: str) -> int:
        name = f"up-{index}-{number}.bin"
        with ftplib.FTP(timeout=20) as ftp:
            ftp.connect(VIP, 21, source_address=(CLIENTS[index], 0))
            ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
            ftp.set_pasv(passive)
            digest = hashlib.sha256()
            ftp.retrbinary("RETR payload.bin", digest.update)
            assert digest.hexdigest() == self.payload_sha, "RETR: the file came back changed or short"
            ftp.storbinary(f"STOR {name}", io.BytesIO(upload))
            ftp.quit()
        stored = [root / name for root in self.roots.values() if (root / name).exists()]
        assert len(stored) == 1, f"STOR {name}: on {len(stored)} servers"
        assert ftpenv.sha256_file(stored[0]) == upload_sha, f"STOR {name}: the server got other bytes"
        stored[0].unlink()
        return 2


def wait_for(condition, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class SlowSession(threading.Thread):
    """One session logged in before the upgrade whose RETR is read slowly across the hand-over;
    then, still on the old process, a STOR: a running session of the old process goes on."""

    def __init__(self, payload_sha: str):
        super().__init__(daemon=True)
        self.payload_sha = payload_sha
        self.reading = threading.Event()
        self.release = threading.Event()
        self.result: str | None = None

    def run(self) -> None:
        try:
            with ftplib.FTP(timeout=30) as ftp:
                ftp.connect(VIP, 21, source_address=(CLIENTS[0], 0))
                ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
                digest = hashlib.sha256()

                def chunk(data: bytes) -> None:
                    digest.update(data)
                    self.reading.set()
                    self.release.wait(WAIT)  # holds the transfer open until the hand-over

                ftp.retrbinary("RETR payload.bin", chunk, blocksize=64 * 1024)
                assert digest.hexdigest() == self.payload_sha, "slow RETR came back changed or short"
                ftp.storbinary("STOR slow.bin", io.BytesIO(b"after the hand-over\n"))
                ftp.quit()
            self.result = "ok"
        except Exception as error:
            self.result = repr(error)


def upgrade(log, pid: int, done: int, load: Load, slow: SlowSession) -> int:
    """SIGUSR2 to `pid` while `slow` is mid-transfer; returns the successor's pid once the
    hand-over is logged (the `done`-th of the log) and more sessions have gone through it."""
    os.kill(pid, signal.SIGUSR2)
    pattern = re.compile(r"successor_pid=(\d+) \[FTPBalancer\] upgrade: the new process serves the listeners")
    wait_for(lambda: len(pattern.findall(log())) > done or not pid_alive(pid), "the hand-over")
    found = pattern.findall(log())
    assert len(found) > done, f"no hand-over:\n{log()[-3000:]}"
    at_hand_over = load.count()
    # New sessions go to the successor while the old process still runs the slow transfer.
    wait_for(lambda: load.count() >= at_hand_over + SESSIONS_PER_PHASE, "sessions during the drain")
    assert pid_alive(pid), "the old process exited with a transfer still running"
    os.kill(pid, signal.SIGHUP)  # the reload belongs to the new process now
    wait_for(lambda: log().count("new ftplb process: reload that one") > done, "the old process's refusal")
    slow.release.set()
    return int(found[done])


@pytest.mark.timeout(150)
def test_two_upgrades_under_load_drop_no_session(old_balancer, upgrade_farm):
    process = old_balancer
    roots, payload_sha = upgrade_farm
    load = Load(roots, payload_sha)
    slows = [SlowSession(payload_sha) for _ in range(UPGRADES)]
    started = time.monotonic()
    figures = []
    load.start()
    try:
        pid = process.pid
        for round_, slow in enumerate(slows):
            slow.start()
            before = load.count()
            wait_for(lambda: load.count() >= before + SESSIONS_PER_PHASE and slow.reading.is_set(),
                     "sessions before the upgrade")
            signalled = time.monotonic()
            successor = upgrade(process.log_text, pid, round_, load, slow)
            wait_for(lambda: not pid_alive(pid), "the old process to exit by itself")
            slow.join(timeout=WAIT)
            assert slow.result == "ok", f"the session running across hand-over {round_ + 1} failed: {slow.result}"
            figures.append(time.monotonic() - signalled)
            if round_ == 0:
                assert process.proc.wait(timeout=WAIT) == 0, "the first process exits 0"
            pid = successor
        at_last_exit = load.count()
        wait_for(lambda: load.count() >= at_last_exit + SESSIONS_PER_PHASE, "sessions after the last exit")
        with urllib.request.urlopen(f"http://{ADMIN}/healthz", timeout=10) as response:
            assert response.status == 200, "the last process's admin API answers /healthz"
    finally:
        for slow in slows:
            slow.release.set()
        load.finish()
    assert load.failures == [], "\n".join(load.failures[:10])
    assert pid_alive(pid), "the last process serves on"
    log = process.log_text()
    assert log.count("taking over the listening sockets of the previous ftplb process") == UPGRADES
    assert log.count("upgrade: the previous process has exited") == UPGRADES
    # Each old process's drain ended with its last session, not with a shutdown.
    assert "closing the sessions left" not in log and "critical" not in log, log[-3000:]
    # A successor does not count its predecessor's data connections as misrouted.
    assert "misrouted data connection" not in log
    print(f"\nupgrade: {load.sessions} sessions and {load.transfers} transfers through {UPGRADES} "
          f"upgrades (+{UPGRADES} slow sessions across the hand-overs), {len(load.failures)} failed; "
          f"SIGUSR2 to the old process's exit: {', '.join(f'{s:.1f}s' for s in figures)}; "
          f"total {time.monotonic() - started:.1f}s")


@pytest.mark.timeout(60)
def test_a_new_process_that_cannot_start_leaves_the_old_one_serving(old_balancer, upgrade_farm, workdir):
    process = old_balancer
    roots, payload_sha = upgrade_farm
    config = workdir / "upgrade.yaml"
    good = config.read_text()
    config.write_text(good.replace("passive_ports:", "passive_portz:"))
    try:
        process.proc.send_signal(signal.SIGUSR2)
        wait_for(lambda: "upgrade failed:" in process.log_text(), "the failed upgrade")
    finally:
        config.write_text(good)
    log = process.log_text()
    assert re.search(r"upgrade failed: the new process \d+ exited with status 2 before serving", log), log[-2000:]
    assert "unknown key 'passive_portz'" in log, "the new process's own message says why"
    assert process.alive()
    transfers = Load(roots, payload_sha)
    upload = os.urandom(UPLOAD_SIZE)
    assert transfers.session(1, 0, True, upload, hashlib.sha256(upload).hexdigest()) == 2
    with urllib.request.urlopen(f"http://{ADMIN}/healthz", timeout=10) as response:
        assert response.status == 200, "the old process's admin API still answers"
    # A later upgrade, with the file fixed, goes through.
    process.proc.send_signal(signal.SIGUSR2)
    wait_for(lambda: "upgrade: the new process serves the listeners" in process.log_text(), "the second try")
    assert process.proc.wait(timeout=WAIT) == 0
