"""Pools operators can trust: weighted round robin, source IP and per-user hashing, health
checks of every kind against real servers, server states (draining, backup, max_sessions),
session limits, reload under load (SIGHUP) and graceful shutdown (SIGTERM).

Each test starts its own ftplb from a configuration file written with the pool keys, in
front of vsftpd instances whose greeting names them ("220 vsftpd s1 ready."), so a session
shows its server by its greeting; for `per_user` (where the balancer greets) by
server-id.txt or by the balancer's `session ended` log line for the client's port.

Address plan of this file (apart from conftest's 127.0.10.x / 127.0.20.x / 127.0.30.x and
bench's 127.0.40.x):
    127.0.50.N:21        the virtual service(s) of test setup N, advertised as is,
                         passive ports 45000+50(N-1) .. +49
    127.0.51.1           ftplb's source address towards the servers (the default)
    127.0.51.2-10        per-service source addresses, so a server's own log tells which
                         service's health check talked to it
    127.0.51.11-14:21    vsftpd s1..s4, shared by the module (never stopped by a test)
    127.0.51.21-22:21    vsftpd k1, k2: killed and restarted by the health tests
    127.0.51.31-32:21    vsftpd p1, p2: primaries killed by the backup test
    127.0.51.98-99:21    nothing: servers that refuse connections
    127.0.52.x           client source addresses
    servers' passive ports 47000+100*i .. +99
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

import ftpenv
from ftpenv import FTP_PASSWORD, FTP_USER, Control

pytestmark = pytest.mark.balancer_only

SOURCE = "127.0.51.1"
FARM = {"s1": "127.0.51.11", "s2": "127.0.51.12", "s3": "127.0.51.13", "s4": "127.0.51.14"}
KILLABLE = {"k1": "127.0.51.21", "k2": "127.0.51.22", "p1": "127.0.51.31", "p2": "127.0.51.32"}
SERVER_PASSIVE = {name: (47000 + 100 * i, 47099 + 100 * i)
                  for i, name in enumerate([*FARM, *KILLABLE])}
DEAD = {"dead1": "127.0.51.98:21", "dead2": "127.0.51.99:21"}
BANNER_RE = re.compile(r"220 vsftpd (\S+) ready\.")
UNAVAILABLE = "No FTP server is available; try again later."
CHECK_FILE_TEXT = "check\n"  # hc-check.txt on every farm server: 6 bytes
SHUTTING_DOWN_NEW = "421 Service shutting down; try again later."
SHUTTING_DOWN_CLOSE = "421 Service shutting down; closing control connection."

# Fast health checks: a server turns down after 3 failures 300 ms apart, up after 2 passes.
FAST_CHECK = {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 2, "fall": 3}
# How late a health turn may be seen beyond its fall/rise x interval: one check period
# for the phase of the kill, the monitor's 100 ms tick, scheduling on a busy machine.
TURN_MARGIN = 0.6


def vip(n: int) -> str:
    return f"127.0.50.{n}"


def passive_range(n: int) -> tuple[int, int]:
    first = 45000 + 50 * (n - 1)
    return first, first + 49


def server(name: str, **keys) -> dict:
    """A server entry: a farm, killable or dead server by name, with optional keys."""
    address = f"{FARM[name]}:21" if name in FARM else (
        f"{KILLABLE[name]}:21" if name in KILLABLE else DEAD[name])
    return {"name": name, "address": address, **keys}


def service(name: str, n: int, servers: list[dict], source: str = SOURCE, **keys) -> dict:
    """A virtual service on VIP n with the file's own keys (algorithm, health_check, ...)."""
    return {
        "name": name, "listen": f"{vip(n)}:21", "advertise": vip(n),
        "passive_ports": passive_range(n), "source_address": source,
        **keys,
        "servers": servers,
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }


# --------------------------------------------------------------------------------------
# The balancer's log


LOG_RE = re.compile(
    r"(?P<ts>\S+) (?P<level>trace|debug|info|notice|warning|error|critical) (?P<label>[^\s:]+): ?"
    r"(?P<meta>.*?) ?\[(?P<module>[A-Za-z]+)\] (?P<message>.*)")
META_KEY_RE = re.compile(r"(?:^| )([a-z][\w.-]*)=")


@dataclasses.dataclass
class LogLine:
    level: str | None
    message: str
    meta: dict[str, str]
    text: str

    def __str__(self) -> str:
        return self.text


def parse_log_line(text: str) -> LogLine:
    """`<time> <level> ftplb: k=v k=v [Module] message` (swift-log's StreamLogHandler)."""
    match = LOG_RE.fullmatch(text)
    if not match:
        return LogLine(None, text, {}, text)
    meta_text = match.group("meta")
    keys = list(META_KEY_RE.finditer(meta_text))
    meta = {}
    for key, following in zip(keys, keys[1:] + [None]):
        end = following.start() if following else len(meta_text)
        meta[key.group(1)] = meta_text[key.end():end].strip()
    return LogLine(match.group("level"), match.group("message"), meta, text)


class LogWatch:
    """The balancer's log, read incrementally; lines are numbered so a test can look only
    at what came after a point (`mark()`)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.lines: list[LogLine] = []

    def refresh(self) -> list[LogLine]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        *complete, self.partial = (self.partial + data).split(b"\n")
        self.lines += [parse_log_line(raw.decode("utf-8", "replace")) for raw in complete]
        return self.lines

    def mark(self) -> int:
        return len(self.refresh())

    def find(self, message: str, since: int = 0, prefix: bool = False, **meta: str) -> list[LogLine]:
        """Lines with this message (or message prefix) whose metadata has every
        `ftp_<key>=value` given (ftp_server="s1" matches ftp.server=s1)."""
        wanted = {key.replace("_", ".", 1): value for key, value in meta.items()}
        return [line for line in self.refresh()[since:]
                if (line.message.startswith(message) if prefix else line.message == message)
                and all(line.meta.get(k) == v for k, v in wanted.items())]

    def wait_for(self, message: str, since: int = 0, timeout: float = 10.0, prefix: bool = False,
                 **meta: str) -> LogLine:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 2):
            found = self.find(message, since, prefix, **meta)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        tail = "\n".join(line.text for line in self.lines[-30:])
        raise AssertionError(f"no log line {message!r} {meta} within {timeout}s; log tail:\n{tail}")

    def text_since(self, since: int) -> str:
        return "\n".join(line.text for line in self.refresh()[since:])


class Ftplb:
    """One ftplb run from a configuration file of this test; `reload` rewrites the file and
    sends SIGHUP, and waits until the balancer has taken it (or refused it)."""

    def __init__(self, workdir: Path, name: str, services: list[dict], shutdown_grace: str = "3s"):
        self.name = name
        self.config = workdir / f"{name}.yaml"
        self.shutdown_grace = shutdown_grace
        self.write(services)
        listens = [(s["listen"].rsplit(":", 1)[0], int(s["listen"].rsplit(":", 1)[1])) for s in services]
        self.process = ftpenv.start_ftplb_file(workdir, name, self.config, listens)
        self.log = LogWatch(self.process.log_path)

    def write(self, services: list[dict]) -> None:
        self.config.write_text(ftpenv.ftplb_pools_yaml(services, shutdown_grace=self.shutdown_grace))

    def reload(self, services: list[dict] | None = None, text: str | None = None) -> LogLine:
        """Rewrite the file (services, or raw text) and SIGHUP; the log line that answered."""
        since = self.log.mark()
        if text is not None:
            self.config.write_text(text)
        elif services is not None:
            self.write(services)
        self.process.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        for _ in range(500):
            for line in self.log.refresh()[since:]:
                if line.message == "configuration reloaded" or line.message.startswith("configuration reload "):
                    return line
            self.assert_alive()
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise AssertionError(f"no reload outcome logged within 10s:\n{self.log.text_since(since)}")

    def assert_alive(self) -> None:
        assert self.process.alive(), f"{self.name} exited {self.process.proc.returncode}:\n" \
                                     f"{self.process.log_tail(60)}"

    def wait_health(self, server_name: str, health: str, since: int, timeout: float,
                    service_name: str | None = None) -> tuple[float, LogLine]:
        """Seconds until `server is <health>` for the server appeared (polled every 20 ms),
        and the line."""
        started = time.monotonic()
        meta = {"ftp_server": server_name}
        if service_name:
            meta["ftp_service"] = service_name
        line = self.log.wait_for(f"server is {health}", since, timeout, **meta)
        return time.monotonic() - started, line

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def ftplb(workdir):
    """Starts balancers for one test and stops them afterwards, also when it fails."""
    started: list[Ftplb] = []

    def start(name: str, services: list[dict], shutdown_grace: str = "3s") -> Ftplb:
        balancer = Ftplb(workdir, f"pools-{name}", services, shutdown_grace)
        started.append(balancer)
        return balancer

    yield start
    for balancer in started:
        balancer.stop()


# --------------------------------------------------------------------------------------
# Servers


def start_named_vsftpd(workdir: Path, name: str, host: str, big_file) -> ftpenv.FTPServer:
    root = workdir / f"root-pools-{name}"
    ftpenv.populate_root(root, name, big_file.path)
    for file_name, text in (("hc-check.txt", CHECK_FILE_TEXT), ("hc-drain.txt", CHECK_FILE_TEXT)):
        (root / file_name).write_text(text)
        (root / file_name).chmod(0o644)
    return ftpenv.start_vsftpd(workdir, f"pools-{name}", host, 21, SERVER_PASSIVE[name], root,
                               tls=False, banner=f"vsftpd {name} ready.")


@pytest.fixture(scope="module")
def _farm(workdir, big_file, ftp_user):
    running: dict[str, ftpenv.FTPServer] = {}
    try:
        for name, host in FARM.items():
            running[name] = start_named_vsftpd(workdir, name, host, big_file)
        yield running
    finally:
        for one in running.values():
            one.stop()


@pytest.fixture
def farm(_farm):
    """s1..s4, shared by the module: tests only route sessions to them, never stop them."""
    yield _farm
    for name, one in _farm.items():
        assert one.process.alive(), f"{name} died:\n{one.process.log_tail()}"


class Killable:
    """vsftpd servers a test may stop and start again at the same address."""

    def __init__(self, workdir: Path, big_file):
        self.workdir = workdir
        self.big_file = big_file
        self.running: dict[str, ftpenv.FTPServer] = {}

    def start(self, name: str) -> ftpenv.FTPServer:
        assert name not in self.running
        self.running[name] = start_named_vsftpd(self.workdir, name, KILLABLE[name], self.big_file)
        return self.running[name]

    def kill(self, name: str) -> None:
        """Stop the server: its listener is gone when this returns."""
        self.running.pop(name).stop()
        assert not ftpenv.is_listening(KILLABLE[name], 21)

    def stop_all(self) -> None:
        for one in self.running.values():
            one.stop()
        self.running.clear()


@pytest.fixture
def killable(workdir, big_file, ftp_user):
    pool = Killable(workdir, big_file)
    yield pool
    pool.stop_all()


def protocol_log_count(srv: ftpenv.FTPServer, needle: str) -> int:
    """Lines of vsftpd's own log containing `needle`."""
    if not srv.protocol_log.exists():
        return 0
    return sum(needle in line for line in srv.protocol_log.read_text("utf-8", "replace").splitlines())


def wait_protocol_log(srv: ftpenv.FTPServer, needle: str, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        seen = protocol_log_count(srv, needle)
        if seen >= count:
            return seen
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise AssertionError(f"{srv.name}: {needle!r} seen {seen} times, wanted {count} within {timeout}s")


# --------------------------------------------------------------------------------------
# Sessions


class SessionFailed(AssertionError):
    pass


def greeting_server(host: str, source: str | None = None, timeout: float = 10.0) -> str:
    """One session that only reads the greeting and quits: the server it reached, by name."""
    with Control(host, 21, timeout=timeout, source=source) as ctl:
        greeting = ctl.greeting
        match = BANNER_RE.fullmatch(greeting.text) if greeting else None
        if not match:
            raise SessionFailed(f"session from {source or 'default'} to {host}: greeting {greeting}")
        reply = ctl.cmd("QUIT")
        if reply.code != 221:
            raise SessionFailed(f"QUIT answered {reply}")
    return match.group(1)


def greeting_of(host: str, source: str | None = None) -> ftpenv.Reply | None:
    """The first reply of a new connection; the connection is closed afterwards."""
    with Control(host, 21, source=source) as ctl:
        return ctl.greeting


def assert_refused(host: str, text: str, source: str | None = None) -> None:
    """A connection answered with exactly `text` and then closed by the balancer."""
    with Control(host, 21, source=source) as ctl:
        assert ctl.greeting is not None and ctl.greeting.text == text, ctl.greeting
        assert ctl.read_reply(timeout=5) is None, "the connection stayed open after the 421"


def client_port(ctl: Control) -> str:
    host, port = ctl.sock.getsockname()[:2]
    return f"{host}:{port}"


def download_id(host: str, mode: str = "pasv", source: str | None = None) -> str:
    """A full ftplib session: log in, RETR server-id.txt, quit."""
    ftp = ftpenv.open_ftp(host, 21, mode, timeout=20, source=source)
    try:
        chunks: list[bytes] = []
        ftp.retrbinary("RETR server-id.txt", chunks.append)
        ftp.quit()
    finally:
        ftp.close()
    return b"".join(chunks).decode().strip()


class CurlInBackground:
    """A rate-limited curl download in the background, its output in a file the test can
    watch; `stop()` (in a finally) kills it if it still runs."""

    def __init__(self, host: str, remote: str, local: Path, rate: int, mode: str = "pasv"):
        self.local = local
        self.trace_path = local.with_name(local.name + ".curl-trace")
        extra = ["--limit-rate", str(rate), "--output", str(local)]
        self.argv = ftpenv.curl_argv(host, 21, remote, mode, extra, timeout=120)
        with open(self.trace_path, "wb") as trace:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=trace)

    def running(self) -> bool:
        return self.proc.poll() is None

    def received(self) -> int:
        return self.local.stat().st_size if self.local.exists() else 0

    def result(self) -> ftpenv.ClientResult:
        trace = self.trace_path.read_bytes().decode("utf-8", "replace")
        return ftpenv.ClientResult(self.argv, self.proc.returncode, b"", trace)

    def wait_received(self, size: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 2):
            if self.received() >= size:
                return
            assert self.running(), f"curl ended early: {self.result().describe()}"
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise AssertionError(f"curl received {self.received()} bytes, wanted {size} within {timeout}s")

    def join(self, timeout: float) -> ftpenv.ClientResult:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"curl still running after {timeout}s") from None
        return self.result()

    def stop(self) -> None:
        if self.running():
            self.proc.kill()
        self.proc.wait(10)


class RawDownload:
    """RETR over EPSV on a raw control connection, the data read at a bounded pace in a
    thread, so that the test sees every reply of the session after the transfer."""

    def __init__(self, host: str, remote: str, rate: int, source: str | None = None):
        self.ctl = Control(host, 21, timeout=30, source=source)
        self.rate = rate
        self.received = 0
        self.digest = hashlib.sha256()
        self.error: BaseException | None = None
        try:
            self.ctl.login()
            assert self.ctl.cmd("TYPE I").code == 200
            port = ftpenv.parse_epsv_reply(self.ctl.cmd("EPSV"))
            self.data = socket.create_connection((host, port), timeout=30,
                                                 source_address=(source, 0) if source else None)
            self.ctl.send(f"RETR {remote}")
            opening = self.ctl.read_reply()
            assert opening is not None and opening.code in (125, 150), opening
        except BaseException:
            self.ctl.close()
            raise
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        started = time.monotonic()
        try:
            with self.data:
                for _ in range(1_000_000):
                    chunk = self.data.recv(64 * 1024)
                    if not chunk:
                        return
                    self.digest.update(chunk)
                    self.received += len(chunk)
                    ahead = self.received / self.rate - (time.monotonic() - started)
                    time.sleep(min(max(ahead, 0), 1.0))
        except BaseException as error:  # handed to the test by join()
            self.error = error

    def running(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the raw download still runs after {timeout}s"
        if self.error:
            raise self.error

    def close(self) -> None:
        """Ends the session; a reader still waiting for data is woken by the shutdown."""
        self.ctl.close()
        try:
            self.data.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(30)


def rate_for(big_file, seconds: float) -> int:
    """A --limit-rate (bytes/s) that makes the big file last about `seconds`."""
    return max(64 * 1024, int(big_file.size / seconds))


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.02) + 2):
        if condition():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout}s: {what}")


# --------------------------------------------------------------------------------------
# 1. Weighted round robin


@pytest.mark.timeout(120)
def test_weighted_round_robin_1_2_3(farm, ftplb):
    """600 sessions over weights 1:2:3 land within 5% of 100/200/300, interleaved (smooth
    weighted round robin: a server never gets three sessions in a row)."""
    lb = ftplb("wrr", [service("wrr", 1, [server("s1", weight=1), server("s2", weight=2),
                                         server("s3", weight=3)],
                                algorithm="weighted_round_robin", health_check=FAST_CHECK)])
    seen = [greeting_server(vip(1)) for _ in range(600)]
    counts = collections.Counter(seen)
    for name, expected in (("s1", 100), ("s2", 200), ("s3", 300)):
        assert abs(counts[name] - expected) <= 0.05 * expected, counts
    longest = max_run(seen)
    assert longest <= 2, f"bursts instead of interleaving: a run of {longest}; {seen[:24]}"
    lb.assert_alive()


def max_run(items: list[str]) -> int:
    longest = current = 0
    previous = None
    for item in items:
        current = current + 1 if item == previous else 1
        previous = item
        longest = max(longest, current)
    return longest


# --------------------------------------------------------------------------------------
# 2. Source IP hash


@pytest.mark.timeout(120)
def test_source_ip_hash_keeps_clients_and_moves_a_quarter_to_a_new_server(farm, ftplb):
    """40 client addresses each keep their server over repeated sessions; after a 4th
    server is added by SIGHUP, 10%..45% of them move, every one of them to the new server,
    and the others stay where they were."""
    three = [server("s1"), server("s2"), server("s3")]
    config = lambda servers: [service("hash", 2, servers, algorithm="source_ip_hash",
                                      health_check=FAST_CHECK)]
    lb = ftplb("hash", config(three))
    clients = [f"127.0.52.{i}" for i in range(1, 41)]

    def placement() -> dict[str, str]:
        where = {}
        for client in clients:
            seen = {greeting_server(vip(2), source=client) for _ in range(3)}
            assert len(seen) == 1, f"{client} moved between sessions: {seen}"
            where[client] = seen.pop()
        return where

    before = placement()
    assert set(before.values()) == {"s1", "s2", "s3"}, collections.Counter(before.values())
    outcome = lb.reload(config(three + [server("s4")]))
    assert outcome.message == "configuration reloaded", outcome
    after = placement()
    moved = [client for client in clients if after[client] != before[client]]
    assert all(after[client] == "s4" for client in moved), \
        {client: (before[client], after[client]) for client in moved}
    assert 0.10 <= len(moved) / len(clients) <= 0.45, f"{len(moved)} of {len(clients)} moved"
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 3. Per user


USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy")
PER_USER_GREETING = "Pools FTP ready."


def per_user_service(n: int, users: dict[str, str], servers: list[dict]) -> dict:
    return service(f"users{n}", n, servers, algorithm="per_user", unavailable_message=UNAVAILABLE,
                   health_check=FAST_CHECK,
                   per_user={"greeting": PER_USER_GREETING, "users": users})


def user_session_server(lb: Ftplb, host: str, user: str, source: str) -> str:
    """USER then QUIT from `source`: the server that answered, by the session's log line.
    The client sees the balancer's greeting and the server's own reply to USER."""
    since = lb.log.mark()
    with Control(host, 21, source=source) as ctl:
        assert ctl.greeting is not None and ctl.greeting.text == f"220 {PER_USER_GREETING}", ctl.greeting
        port = client_port(ctl)
        reply = ctl.cmd(f"USER {user}")
        assert reply.text == "331 Please specify the password.", reply  # vsftpd's words
        assert ctl.cmd("QUIT").code == 221
    ended = lb.log.wait_for("session ended", since, ftp_client=port)
    assert ended.meta.get("ftp.user") == user, ended
    return ended.meta["ftp.server"]


@pytest.mark.timeout(150)
def test_per_user_routing(farm, ftplb, scratch, big_file):
    """per_user: the balancer greets, answers what needs no server before USER, then places
    the session by the user: a user always reaches the same server from any address; a
    mapped user reaches its server (curl, lftp, ftplib download through it); a mapped user
    whose server is down gets 421 with the configured message."""
    three = [server("s1"), server("s2"), server("s3")]
    hashed = ftplb("users-hash", [per_user_service(3, {}, three)])

    # Before USER: only what needs no server.
    with Control(vip(3), 21) as ctl:
        assert ctl.greeting.text == f"220 {PER_USER_GREETING}", ctl.greeting
        assert ctl.cmd("NOOP").code == 200
        for command in ("FEAT", "SYST", "PWD", "PASV", "LIST", "PASS x"):
            assert ctl.cmd(command).code == 530, command
        assert ctl.cmd("AUTH TLS").code == 534
        assert ctl.cmd("QUIT").code == 221
        assert ctl.read_reply(timeout=5) is None, "still open after 221"

    # The same user lands on the same server from five addresses each; users spread.
    placed: dict[str, str] = {}
    for number, user in enumerate(USERS):
        seen = {user_session_server(hashed, vip(3), user, f"127.0.52.{100 + 10 * number + k}")
                for k in range(5)}
        assert len(seen) == 1, f"{user} reached {seen}"
        placed[user] = seen.pop()
    assert len(set(placed.values())) >= 2, placed
    ftptest_home = {download_id(vip(3), source=f"127.0.52.{200 + k}") for k in range(6)}
    assert len(ftptest_home) == 1, ftptest_home
    hashed_home = ftptest_home.pop()
    hashed.stop()

    # Map ftptest to another server than its hash would choose; ghost to a dead server.
    mapped_home = next(name for name in ("s1", "s2", "s3") if name != hashed_home)
    mapped = ftplb("users-map", [per_user_service(
        4, {FTP_USER: mapped_home, "ghost": "dead1"}, three + [server("dead1")])])
    mapped.wait_health("dead1", "down", 0, timeout=5)
    assert {download_id(vip(4), mode, f"127.0.52.{210 + k}")
            for k, mode in enumerate(ftpenv.MODES)} == {mapped_home}

    curl = ftpenv.curl(vip(4), 21, "server-id.txt", "pasv").check()
    assert curl.stdout == f"{mapped_home}\n".encode(), curl.describe()
    assert f"220 {PER_USER_GREETING}" in curl.replies(), curl.describe()
    local = scratch / "big.bin"
    ftpenv.curl(vip(4), 21, "big.bin", "epsv", ["--output", str(local)]).check()
    assert ftpenv.sha256_file(local) == big_file.sha256

    plain = ftpenv.lftp(vip(4), 21, "pasv", ["cat server-id.txt"], scratch).check()
    assert plain.stdout == f"{mapped_home}\n".encode(), plain.describe()
    # lftp with its defaults sends FEAT (and AUTH TLS) before USER: refused, and it goes on.
    eager = ftpenv.lftp(vip(4), 21, None, ["set net:max-retries 1", "set net:timeout 15",
                                          "cat server-id.txt"], scratch, defaults=True, timeout=60)
    assert eager.returncode == 0 and eager.stdout == f"{mapped_home}\n".encode(), eager.describe()
    before_user = eager.verbs()[:eager.verbs().index("USER")]
    assert "FEAT" in before_user, f"lftp sent no FEAT before USER; the test proves less:\n{eager.describe()}"
    assert "530 Please log in with USER and PASS first." in eager.replies(), eager.describe()

    with Control(vip(4), 21) as ctl:
        assert ctl.greeting.text == f"220 {PER_USER_GREETING}"
        reply = ctl.cmd("USER ghost")
        assert reply.text == f"421 {UNAVAILABLE}", reply
        assert ctl.read_reply(timeout=5) is None
    mapped.assert_alive()


# --------------------------------------------------------------------------------------
# 4. Health: a killed server


@pytest.mark.timeout(120)
def test_killed_server_goes_down_and_comes_back_in_time(killable, ftplb):
    """A stopped server is marked down within fall x interval (+ margin, and not before
    (fall-1) x interval; a warning), then gets no new session, not even an attempt, also
    after a reload (its state is kept); started again it is up within rise x interval
    (+ margin; a notice) and gets its share again."""
    killable.start("k1")
    killable.start("k2")
    config = lambda weight: [service("killed", 5, [server("k1"), server("k2", weight=weight)],
                                     health_check=FAST_CHECK)]
    lb = ftplb("killed", config(1))
    interval, fall, rise = 0.3, FAST_CHECK["fall"], FAST_CHECK["rise"]
    assert collections.Counter(greeting_server(vip(5)) for _ in range(4)) == {"k1": 2, "k2": 2}

    since = lb.log.mark()
    killable.kill("k1")
    took, line = lb.wait_health("k1", "down", since, timeout=fall * interval + 5)
    assert (fall - 1) * interval - 0.1 <= took <= fall * interval + TURN_MARGIN, \
        f"down after {took:.2f}s\n{lb.log.text_since(since)}"
    assert line.level == "warning", line
    down_at = lb.log.mark()
    assert [greeting_server(vip(5)) for _ in range(6)] == ["k2"] * 6
    assert lb.reload(config(2)).message == "configuration reloaded"
    assert [greeting_server(vip(5)) for _ in range(6)] == ["k2"] * 6
    attempts = lb.log.find("server did not accept the connection; trying the next", down_at, ftp_server="k1")
    assert not attempts, attempts
    assert not lb.log.find("server is up", down_at, ftp_server="k1")

    since = lb.log.mark()
    killable.start("k1")
    took, line = lb.wait_health("k1", "up", since, timeout=rise * interval + 5)
    assert (rise - 1) * interval - 0.1 <= took <= rise * interval + TURN_MARGIN, \
        f"up after {took:.2f}s\n{lb.log.text_since(since)}"
    assert line.level == "notice", line
    assert collections.Counter(greeting_server(vip(5)) for _ in range(4)) == {"k1": 2, "k2": 2}
    lb.assert_alive()


@pytest.mark.timeout(60)
def test_refusing_server_is_retried_silently_and_failed_connects_take_it_down(killable, ftplb):
    """With the next check far away, sessions meant for a stopped server are retried on the
    other one (clients see nothing), and `fall` such failed connects in a row mark it down
    without waiting for a check; then it gets no attempts at all."""
    killable.start("k1")
    k2 = killable.start("k2")
    slow_check = {"type": "ftp", "interval": "60s", "timeout": "2s", "rise": 2, "fall": 2}
    lb = ftplb("retry", [service("retry", 6, [server("k1"), server("k2")], health_check=slow_check)])
    k1 = killable.running["k1"]
    # The first checks (at start) have run and passed: both saw the probe's QUIT.
    for srv in (k1, k2):
        wait_protocol_log(srv, f'FTP command: Client "{SOURCE}", "QUIT"', 1, timeout=5)
    time.sleep(0.3)  # let the balancer take the passed results before the server goes
    since = lb.log.mark()
    killable.kill("k1")
    seen = [greeting_server(vip(6)) for _ in range(8)]
    assert seen == ["k2"] * 8, seen
    failures = lb.log.find("server did not accept the connection; trying the next", since, ftp_server="k1")
    assert len(failures) == 2, "\n".join(map(str, failures))
    down = lb.log.find("server is down", since, ftp_server="k1")
    assert len(down) == 1 and "client sessions in a row could not connect" in down[0].meta.get("ftp.reason", ""), \
        lb.log.text_since(since)
    assert down[0].level == "warning", down[0]
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 5. Health check kinds


HC_SERVICES = {
    # name: (vip, source, health_check, expected down servers)
    "hc-login-ok": (7, "127.0.51.2", {"type": "ftp_login", "user": FTP_USER, "password": FTP_PASSWORD}, set()),
    # PAM delays a failed login by about 2 s: the timeout must outlast it, so that the
    # server is marked down for its 530, not for a timeout.
    "hc-login-bad": (8, "127.0.51.3", {"type": "ftp_login", "user": FTP_USER, "password": "wrong-pw",
                                       "interval": "4s", "timeout": "4s", "fall": 1}, {"s1", "s2"}),
    "hc-pasv-ok": (9, "127.0.51.4", {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
                                     "file": "hc-check.txt", "mode": "passive", "size": 6}, set()),
    "hc-port-ok": (10, "127.0.51.5", {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
                                      "file": "hc-check.txt", "mode": "active", "size": 6}, set()),
    "hc-size-bad": (11, "127.0.51.6", {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
                                       "file": "hc-check.txt", "mode": "passive", "size": 7}, {"s1", "s2"}),
    "hc-missing-pasv": (12, "127.0.51.7", {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
                                           "file": "only-on-s1.txt", "mode": "passive"}, {"s2"}),
    "hc-missing-port": (13, "127.0.51.8", {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
                                           "file": "only-on-s2.txt", "mode": "active"}, {"s1"}),
}
# A vsftpd login (fork, PAM) took up to 0.96 s on a busy CI machine: the timeout leaves room for it.
HC_TIMING = {"interval": "1500ms", "timeout": "1500ms", "rise": 2, "fall": 2}


@pytest.mark.timeout(90)
def test_health_check_kinds_against_real_servers(farm, ftplb):
    """ftp_login and ftp_transfer (passive and active) against vsftpd: the right password,
    file and size keep both servers up (their logs show the checks succeed over and over);
    a wrong password, a wrong size or a missing file marks the server down, and sessions go
    only where the checks pass (421 with the configured message when nowhere)."""
    services = [service(name, n, [server("s1"), server("s2")], source=source,
                        unavailable_message=UNAVAILABLE, health_check={**HC_TIMING, **check})
                for name, (n, source, check, _) in HC_SERVICES.items()]
    lb = ftplb("hc", services)

    for name, (n, source, check, down) in HC_SERVICES.items():
        for srv_name in sorted(down):
            lb.wait_health(srv_name, "down", 0, timeout=15, service_name=name)
    # The passing checks ran at least three times on each server, each a success.
    for srv in (farm["s1"], farm["s2"]):
        wait_protocol_log(srv, 'OK LOGIN: Client "127.0.51.2"', 3, timeout=15)
        for source in ("127.0.51.4", "127.0.51.5"):
            wait_protocol_log(srv, f'OK DOWNLOAD: Client "{source}", "/hc-check.txt", 6 bytes', 3, timeout=15)
        # The modes were the configured ones.
        assert protocol_log_count(srv, 'FTP command: Client "127.0.51.4", "EPSV"') >= 3
        assert protocol_log_count(srv, 'FTP command: Client "127.0.51.4", "PORT') == 0
        assert protocol_log_count(srv, 'FTP command: Client "127.0.51.5", "PORT 127,0,51,5,') >= 3
        # The wrong password was refused by the server itself (not a timeout).
        assert protocol_log_count(srv, 'FAIL LOGIN: Client "127.0.51.3"') >= 1

    for name, (n, source, check, down) in HC_SERVICES.items():
        turned = {line.meta["ftp.server"] for line in lb.log.find("server is down", ftp_service=name)}
        assert turned == down, f"{name}: down {turned}, expected {down}"
        failed = lb.log.find("health check failed", ftp_service=name)
        if not down:
            assert not failed, f"{name}: {failed[:3]}"
        up = {"s1", "s2"} - down
        if up:
            seen = collections.Counter(greeting_server(vip(n)) for _ in range(4))
            assert set(seen) == up, f"{name}: sessions went to {seen}"
        else:
            assert_refused(vip(n), f"421 {UNAVAILABLE}")
    login_bad = lb.log.find("health check failed", ftp_service="hc-login-bad")
    assert login_bad and all("530" in line.meta.get("ftp.check.detail", "") for line in login_bad), login_bad
    size_bad = lb.log.find("health check failed", ftp_service="hc-size-bad")
    assert size_bad and all("expected 7" in line.meta.get("ftp.check.detail", "") for line in size_bad), size_bad
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 6. Drain


@pytest.mark.timeout(120)
def test_draining_server_finishes_its_transfer_and_takes_no_new_session(farm, ftplb, scratch, big_file):
    """A server switched to `state: draining` by SIGHUP completes the download it is
    serving (intact), gets no new session, and is still health-checked."""
    check = {"type": "ftp_transfer", "user": FTP_USER, "password": FTP_PASSWORD,
             "file": "hc-drain.txt", "mode": "passive", "size": 6,
             "interval": "300ms", "timeout": "300ms", "rise": 2, "fall": 2}
    config = lambda s1_state: [service("drain", 14, [server("s1", state=s1_state), server("s2")],
                                       source="127.0.51.9", health_check=check)]
    lb = ftplb("drain", config("enabled"))
    since = lb.log.mark()
    local = scratch / "big.bin"
    download = CurlInBackground(vip(14), "big.bin", local, rate_for(big_file, 6))
    try:
        first = lb.log.wait_for("connected to server", since)
        busy = first.meta["ftp.server"]
        other = "s2" if busy == "s1" else "s1"
        download.wait_received(ftpenv.MIB)
        states = {"s1": "enabled", "s2": "enabled", busy: "draining"}
        reload_config = [service("drain", 14, [server("s1", state=states["s1"]), server("s2", state=states["s2"])],
                                 source="127.0.51.9", health_check=check)]
        outcome = lb.reload(reload_config)
        assert outcome.message == "configuration reloaded", outcome
        checks_then = protocol_log_count(farm[busy], 'OK DOWNLOAD: Client "127.0.51.9", "/hc-drain.txt"')
        assert [greeting_server(vip(14)) for _ in range(8)] == [other] * 8
        assert download.running(), "the download ended before the test could see the drain"
        wait_protocol_log(farm[busy], 'OK DOWNLOAD: Client "127.0.51.9", "/hc-drain.txt"',
                          checks_then + 2, timeout=5)
        result = download.join(60).check()
    finally:
        download.stop()
    assert ftpenv.sha256_file(local) == big_file.sha256, result.describe()
    assert any(reply.startswith("226") for reply in result.replies()), result.describe()
    ended = [line for line in lb.log.find("session ended", since) if line.meta.get("ftp.server") == busy]
    assert len(ended) == 1 and ended[0].meta["ftp.bytes.to_client"] == str(big_file.size), ended
    lb.assert_alive()


@pytest.mark.timeout(60)
def test_disabled_server_is_neither_used_nor_checked(farm, ftplb):
    """`state: disabled`: no session and no health check reaches the server; enabled again
    by a reload, it gets both."""
    source = "127.0.51.10"
    config = lambda s2_state: [service("disabled", 24, [server("s1"), server("s2", state=s2_state)],
                                       source=source, health_check=FAST_CHECK)]
    connects = f'CONNECT: Client "{source}"'
    before = {name: protocol_log_count(farm[name], connects) for name in ("s1", "s2")}
    lb = ftplb("disabled", config("disabled"))
    wait_protocol_log(farm["s1"], connects, before["s1"] + 4, timeout=5)  # four checks of s1
    assert [greeting_server(vip(24)) for _ in range(6)] == ["s1"] * 6
    assert protocol_log_count(farm["s2"], connects) == before["s2"], "s2 was checked or used"

    assert lb.reload(config("enabled")).message == "configuration reloaded"
    wait_protocol_log(farm["s2"], connects, before["s2"] + 1, timeout=5)
    assert collections.Counter(greeting_server(vip(24)) for _ in range(4)) == {"s1": 2, "s2": 2}
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 7. Reload under load


@pytest.mark.timeout(120)
def test_reload_under_load_fails_no_session(farm, ftplb, workdir):
    """Clients in six threads log in and download in a loop for about ten seconds while
    the configuration is reloaded six times (weights, a server removed and added, a second
    listener added and removed, one invalid file refused with check-config's message):
    not one session fails, and every change shows."""
    check = {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 2, "fall": 3}
    main = lambda servers, algorithm="weighted_round_robin": service(
        "load", 15, servers, algorithm=algorithm, health_check=check)
    second = service("second", 16, [server("s1"), server("s2")], health_check=check)
    versions = [
        [main([server("s1", weight=3), server("s2"), server("s3")])],
        [main([server("s1", weight=3), server("s2")])],
        [main([server("s1"), server("s2"), server("s3"), server("s4", weight=5)])],
        [main([server("s1"), server("s2"), server("s3"), server("s4")]), second],
    ]
    lb = ftplb("load", [main([server("s1"), server("s2"), server("s3")])])

    stop = threading.Event()
    lock = threading.Lock()
    served: list[tuple[float, str]] = []
    failures: list[str] = []

    def worker(index: int) -> None:
        mode = ftpenv.MODES[index % len(ftpenv.MODES)]
        source = f"127.0.52.{150 + index}"
        for _ in range(10_000):
            if stop.is_set():
                return
            try:
                ident = download_id(vip(15), mode, source)
                with lock:
                    served.append((time.monotonic(), ident))
            except Exception as error:  # every failure counts, whatever it is
                with lock:
                    failures.append(f"{mode} from {source}: {type(error).__name__}: {error}")
            time.sleep(0.01)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(6)]
    for thread in threads:
        thread.start()
    try:
        outcomes = []
        marks = []
        for version in versions:
            time.sleep(1.2)
            outcomes.append(lb.reload(version))
            marks.append(time.monotonic())
        # The second listener answers, and a session on it stays open across its removal.
        ftpenv.wait_for_tcp(vip(16), 21, timeout=5, proc=lb.process)
        assert download_id(vip(16)) in ("s1", "s2")
        lingering = ftpenv.open_ftp(vip(16), 21, "pasv", timeout=20)
        try:
            time.sleep(1.2)
            # Weights are 1..1000: this file must not replace the running one.
            broken = ftpenv.ftplb_pools_yaml(
                [main([server("s1"), server("s2"), server("s3"), server("s4", weight=5000)]), second],
                shutdown_grace=lb.shutdown_grace)
            bad_path = workdir / "pools-load-broken.yaml"
            bad_path.write_text(broken)
            checked = subprocess.run([str(ftpenv.ftplb_binary()), "check-config", str(bad_path)],
                                     capture_output=True, timeout=30)
            assert checked.returncode != 0
            message = checked.stderr.decode().strip().splitlines()[-1]
            message = message.removeprefix("ftplb: ").replace(str(bad_path), str(lb.config))
            refused = lb.reload(text=broken)
            assert refused.message == f"configuration reload refused; the running configuration stays: {message}", \
                f"{refused}\ncheck-config said: {checked.stderr.decode()}"
            assert download_id(vip(16)) in ("s1", "s2"), "the old configuration stopped serving"
            time.sleep(1.2)
            outcomes.append(lb.reload(versions[2]))
            wait_until(lambda: not ftpenv.is_listening(vip(16), 21), 5, "the second listener closed")
            chunks: list[bytes] = []
            lingering.retrbinary("RETR server-id.txt", chunks.append)
            assert b"".join(chunks).decode().strip() in ("s1", "s2")
            lingering.quit()
        finally:
            lingering.close()
        time.sleep(1.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert [o.message for o in outcomes] == ["configuration reloaded"] * 5, [str(o) for o in outcomes]
    assert not failures, f"{len(failures)} failed sessions of {len(served) + len(failures)}:\n" + \
        "\n".join(failures[:10]) + f"\nlog tail:\n{lb.process.log_tail(40)}"
    assert len(served) >= 100, f"only {len(served)} sessions ran"
    # Each version showed: s3 gone after the 2nd reload, s4 only after the 3rd.
    before_s4 = [ident for at, ident in served if at < marks[2] - 0.5]
    assert "s4" not in before_s4
    assert "s4" in [ident for at, ident in served if at > marks[2]]
    window = [ident for at, ident in served if marks[1] + 0.5 < at < marks[2] - 0.5]
    assert window and "s3" not in window, collections.Counter(window)
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 8. Graceful shutdown


@pytest.mark.timeout(120)
def test_sigterm_lets_the_transfer_finish_and_exits_0(farm, ftplb, scratch, big_file):
    """SIGTERM during downloads: an idle logged-in session gets the closing 421 at once, a
    new connection gets 421, the downloads complete intact (curl; and a raw session that
    sees 226 and then the closing 421), and then the balancer exits 0 without waiting out
    its grace period."""
    lb = ftplb("shutdown", [service("shutdown", 17, [server("s1")], health_check=FAST_CHECK)],
               shutdown_grace="30s")
    idle = Control(vip(17), 21, source="127.0.52.230")
    local = scratch / "big.bin"
    download = raw = None
    try:
        idle.login()
        download = CurlInBackground(vip(17), "big.bin", local, rate_for(big_file, 5))
        raw = RawDownload(vip(17), "big.bin", rate_for(big_file, 5), source="127.0.52.231")
        download.wait_received(ftpenv.MIB)
        signalled = time.monotonic()
        lb.process.proc.send_signal(signal.SIGTERM)
        reply = idle.read_reply(timeout=5)
        assert reply is not None and reply.text == SHUTTING_DOWN_CLOSE, reply
        assert time.monotonic() - signalled < 1.0, "the idle session was not closed at once"
        # Said at once: what the shutdown waits for, and how to cut it short.
        notice = lb.log.wait_for("shutting down: waiting up to 30s for 2 transfers (3 sessions); new connections "
                                 "get 421; send SIGTERM or SIGINT again to stop now", timeout=2)
        assert notice.level == "notice", notice
        assert idle.read_reply(timeout=5) is None
        assert_refused(vip(17), SHUTTING_DOWN_NEW)
        assert download.running() and raw.running() and lb.process.alive(), \
            "a transfer or ftplb ended too early"
        assert raw.ctl.pending_reply(0.2) is None, "a reply came while the transfer ran"

        raw.join(60)
        assert raw.received == big_file.size and raw.digest.hexdigest() == big_file.sha256
        done = raw.ctl.read_reply(timeout=10)
        assert done is not None and done.code == 226, done
        closing = raw.ctl.read_reply(timeout=5)
        assert closing is not None and closing.text == SHUTTING_DOWN_CLOSE, closing
        assert raw.ctl.read_reply(timeout=5) is None
        result = download.join(60)
        finished = time.monotonic()
        lb.process.proc.wait(timeout=10)
    finally:
        idle.close()
        if download:
            download.stop()
        if raw:
            raw.close()
    assert result.returncode == 0, result.describe()
    assert ftpenv.sha256_file(local) == big_file.sha256
    assert any(reply.startswith("226") for reply in result.replies()), result.describe()
    assert lb.process.proc.returncode == 0, lb.process.log_tail()
    assert time.monotonic() - finished < 5, "ftplb waited after the last transfer"
    assert lb.log.find("every session has ended")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_shutdown_grace_closes_what_remains_and_exits_0(farm, ftplb, scratch, big_file, signum):
    """A transfer that outlasts shutdown_grace is cut when the grace period ends; the
    balancer then exits 0 (SIGTERM and SIGINT alike)."""
    lb = ftplb(f"grace-{signum.name}", [service("grace", 18, [server("s1")], health_check=FAST_CHECK)],
               shutdown_grace="2s")
    local = scratch / "big.bin"
    download = CurlInBackground(vip(18), "big.bin", local, rate_for(big_file, 40))
    try:
        download.wait_received(256 * 1024)
        signalled = time.monotonic()
        lb.process.proc.send_signal(signum)
        lb.process.proc.wait(timeout=10)
        took = time.monotonic() - signalled
        result = download.join(30)
    finally:
        download.stop()
    assert lb.process.proc.returncode == 0, lb.process.log_tail()
    assert 1.8 <= took <= 4.5, f"exited {took:.2f}s after SIGTERM with shutdown_grace 2s"
    assert result.returncode != 0 and download.received() < big_file.size, result.describe()
    assert lb.log.find("shutdown grace period over; closing the sessions left")


@pytest.mark.timeout(60)
def test_a_second_signal_stops_at_once(farm, ftplb, scratch, big_file):
    """SIGTERM, then SIGINT while a transfer runs: the balancer stops waiting for it at once,
    well inside its 30s grace, cuts the transfer and exits 0."""
    lb = ftplb("second-signal", [service("second", 25, [server("s1")], health_check=FAST_CHECK)],
               shutdown_grace="30s")
    local = scratch / "big.bin"
    download = CurlInBackground(vip(25), "big.bin", local, rate_for(big_file, 40))
    try:
        download.wait_received(256 * 1024)
        lb.process.proc.send_signal(signal.SIGTERM)
        lb.log.wait_for("shutting down: waiting up to 30s for 1 transfer (1 session)", prefix=True, timeout=5)
        assert lb.process.alive(), "ftplb ended before the second signal"
        lb.process.proc.send_signal(signal.SIGINT)
        lb.process.proc.wait(timeout=10)
        result = download.join(30)
    finally:
        download.stop()
    assert lb.process.proc.returncode == 0, lb.process.log_tail()
    assert result.returncode != 0 and download.received() < big_file.size, result.describe()
    assert lb.log.find("second signal: stopping now, without waiting for transfers")
    assert lb.log.find("stopping now; closing the sessions left")


# --------------------------------------------------------------------------------------
# 9. Session limits


@pytest.mark.timeout(60)
def test_session_limits(farm, ftplb):
    """max_sessions_per_client and max_sessions turn sessions away with their 421 and a
    `session refused` log line; a session that ends frees its place."""
    lb = ftplb("limits", [service("limits", 19, [server("s1")], health_check=FAST_CHECK,
                                  limits={"max_sessions": 3, "max_sessions_per_client": 2})])
    held: list[Control] = []
    try:
        for source in ("127.0.52.241", "127.0.52.241"):
            held.append(Control(vip(19), 21, source=source))
            assert held[-1].greeting.text == "220 vsftpd s1 ready.", held[-1].greeting
        since = lb.log.mark()
        assert_refused(vip(19), "421 Too many sessions from your address; try again later.", "127.0.52.241")
        refused = lb.log.wait_for("session refused", since, ftp_refusal="client_session_limit")
        assert refused.meta["ftp.client"].startswith("127.0.52.241:"), refused

        held.append(Control(vip(19), 21, source="127.0.52.242"))
        assert held[-1].greeting.text == "220 vsftpd s1 ready.", held[-1].greeting
        since = lb.log.mark()
        assert_refused(vip(19), "421 Too many sessions on this service; try again later.", "127.0.52.243")
        refused = lb.log.wait_for("session refused", since, ftp_refusal="service_session_limit")
        assert refused.meta["ftp.client"].startswith("127.0.52.243:"), refused

        # One session ends: its place is free again, for the service and for its client.
        first = held.pop(0)
        port = client_port(first)
        since = lb.log.mark()
        first.cmd("QUIT")
        first.close()
        lb.log.wait_for("session ended", since, ftp_client=port)
        assert greeting_server(vip(19), source="127.0.52.241") == "s1"
    finally:
        for ctl in held:
            ctl.close()
    lb.assert_alive()


# --------------------------------------------------------------------------------------
# 10. No server, backup servers, full servers


@pytest.mark.timeout(60)
def test_all_servers_down_answers_the_unavailable_message(ftplb):
    """No server can take the session: 421 with the configured message, first after the
    failed connects, then at once once the checks have marked every server down."""
    lb = ftplb("nowhere", [service("nowhere", 20, [server("dead1"), server("dead2")],
                                   unavailable_message=UNAVAILABLE, health_check=FAST_CHECK)])
    assert_refused(vip(20), f"421 {UNAVAILABLE}")
    for name in ("dead1", "dead2"):
        lb.wait_health(name, "down", 0, timeout=5)
    since = lb.log.mark()
    for _ in range(3):
        assert_refused(vip(20), f"421 {UNAVAILABLE}")
    assert not lb.log.find("server did not accept the connection; trying the next", since)
    assert len(lb.log.find("no server can take the session", since, ftp_refusal="no_server_up")) == 3
    lb.assert_alive()


@pytest.mark.timeout(90)
def test_backup_server_serves_only_while_no_primary_is_up(farm, killable, ftplb):
    """A backup server gets no session while any primary is up, every session once all
    primaries are down, and none again as soon as a primary is back up."""
    killable.start("p1")
    killable.start("p2")
    lb = ftplb("backup", [service("backup", 21, [server("p1"), server("s3", backup=True), server("p2")],
                                  health_check=FAST_CHECK)])
    assert collections.Counter(greeting_server(vip(21)) for _ in range(8)) == {"p1": 4, "p2": 4}

    since = lb.log.mark()
    killable.kill("p1")
    lb.wait_health("p1", "down", since, timeout=5)
    assert [greeting_server(vip(21)) for _ in range(6)] == ["p2"] * 6

    since = lb.log.mark()
    killable.kill("p2")
    lb.wait_health("p2", "down", since, timeout=5)
    assert [greeting_server(vip(21)) for _ in range(6)] == ["s3"] * 6

    since = lb.log.mark()
    killable.start("p1")
    lb.wait_health("p1", "up", since, timeout=5)
    assert [greeting_server(vip(21)) for _ in range(6)] == ["p1"] * 6
    lb.assert_alive()


@pytest.mark.timeout(60)
def test_server_at_max_sessions_is_skipped(farm, ftplb):
    """A server at its max_sessions is skipped while it is full; when every server is full
    the client gets 421 Too many sessions; a freed place is used again."""
    lb = ftplb("full", [service("full", 22, [server("s1", max_sessions=1), server("s2", max_sessions=2)],
                                health_check=FAST_CHECK)])
    held: list[tuple[str, Control]] = []
    try:
        for _ in range(3):
            ctl = Control(vip(22), 21)
            match = BANNER_RE.fullmatch(ctl.greeting.text) if ctl.greeting else None
            assert match, ctl.greeting
            held.append((match.group(1), ctl))
        assert collections.Counter(name for name, _ in held) == {"s1": 1, "s2": 2}
        since = lb.log.mark()
        with Control(vip(22), 21) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 421 \
                and ctl.greeting.text.startswith("421 Too many sessions"), ctl.greeting
        lb.log.wait_for("no server can take the session", since, ftp_refusal="servers_full")

        name, ctl = next((name, ctl) for name, ctl in held if name == "s1")
        held.remove((name, ctl))
        port = client_port(ctl)
        since = lb.log.mark()
        ctl.cmd("QUIT")
        ctl.close()
        lb.log.wait_for("session ended", since, ftp_client=port)
        assert greeting_server(vip(22)) == "s1"
    finally:
        for _, ctl in held:
            ctl.close()
    lb.assert_alive()
