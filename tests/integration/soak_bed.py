"""A load bed of full FTP sessions through ftplb, and readings of what the balancer holds.

Shared by the long soak run (`bench/soak.py`, 100,000 sessions), the suite's short one
(`test_soak.py`) and the reload test (`test_reload_load.py`). A session is what a real client
does: connect, USER/PASS, TYPE I, a passive download (PASV or EPSV in turn) checked by sha256,
an active upload (PORT or EPRT in turn) checked by SIZE, QUIT. Every wait is bounded; a failed session is a
string saying what went wrong, never an exception that stops the load.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import os
import re
import socket
import time
import urllib.request
from pathlib import Path

import ftpenv

# Verbs by session number: every pairing of a passive and an active verb comes round.
PASSIVE_VERBS = ("PASV", "EPSV")
ACTIVE_VERBS = ("PORT", "EPRT", "EPRT", "PORT")


class SessionFailed(Exception):
    pass


class ControlLine:
    """A control connection with a reply reader (multi-line replies, a deadline per read)."""

    def __init__(self, host: str, port: int, source: str, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
        self.buffer = bytearray()

    def reply(self) -> tuple[int, str]:
        first = None
        for _ in range(1000):
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise SessionFailed(f"control connection closed; last reply {first!r}")
                self.buffer += chunk
            line, _, rest = bytes(self.buffer).partition(b"\n")
            self.buffer[:] = rest
            text = line.decode("latin-1").rstrip("\r")
            if first is None:
                first = text
                if text[3:4] != "-":
                    return int(text[:3]), text
            elif text[:3] == first[:3] and text[3:4] == " ":
                return int(first[:3]), first
        raise SessionFailed("multi-line reply without an end")

    def command(self, line: str, expect: tuple[int, ...]) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        code, text = self.reply()
        if code not in expect:
            raise SessionFailed(f"{line.split()[0]}: {text}")
        return text

    def close(self) -> None:
        self.sock.close()


def passive_port(verb: str, reply: str, vip: str) -> int:
    if verb == "EPSV":
        match = re.search(r"\(\|\|\|(\d+)\|\)", reply)
        if not match:
            raise SessionFailed(f"EPSV reply {reply!r}")
        return int(match.group(1))
    numbers = [int(n) for n in re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", reply).groups()]
    if ".".join(map(str, numbers[:4])) != vip:
        raise SessionFailed(f"227 names {numbers[:4]}, not the VIP {vip}")
    return numbers[4] * 256 + numbers[5]


def one_session(vip: str, port: int, source: str, number: int, payload: tuple[str, int, str],
                upload: bytes, timeout: float = 20.0, hold: float = 0.0, greeted: list | None = None,
                identify: bool = False) -> str:
    """One full session: a passive download and an active upload. With `identify`, a first
    passive download of `server-id.txt` tells which server it reached (returned; else "").
    `hold` keeps the session logged in that long (NOOPs) before its transfers, so that it
    spans a reload; `greeted` gets the time the greeting came (the server was chosen before)."""
    name, size, sha = payload
    control = ControlLine(vip, port, source, timeout)
    try:
        code, text = control.reply()
        if code != 220:
            raise SessionFailed(f"greeting: {text}")
        if greeted is not None:
            greeted.append(time.monotonic())
        control.command(f"USER {ftpenv.FTP_USER}", (331,))
        control.command(f"PASS {ftpenv.FTP_PASSWORD}", (230,))
        control.command("TYPE I", (200,))
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
            control.command("NOOP", (200,))
        ident = passive_download(control, vip, source, PASSIVE_VERBS[number % 2], "server-id.txt", timeout) \
            if identify else b""
        data = passive_download(control, vip, source, PASSIVE_VERBS[(number + 1) % 2], name, timeout)
        if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
            raise SessionFailed(f"RETR {name}: {len(data)} bytes, sha256 differs" if len(data) == size
                                else f"RETR {name}: {len(data)} of {size} bytes")
        remote = f"up-{source}-{os.getpid()}.bin"
        active_upload(control, source, ACTIVE_VERBS[number % 4], remote, upload, timeout)
        stored = control.command(f"SIZE {remote}", (213,))
        if int(stored.split()[1]) != len(upload):
            raise SessionFailed(f"STOR {remote}: the server has {stored}, sent {len(upload)} bytes")
        control.command("QUIT", (221,))
        return ident.decode().strip()
    finally:
        control.close()


def passive_download(control: ControlLine, vip: str, source: str, verb: str, name: str, timeout: float) -> bytes:
    port = passive_port(verb, control.command(verb, (227, 229)), vip)
    with socket.create_connection((vip, port), timeout=timeout, source_address=(source, 0)) as data:
        control.command(f"RETR {name}", (125, 150))
        received = bytearray()
        for _ in range(1 << 20):
            chunk = data.recv(65536)
            if not chunk:
                break
            received += chunk
    code, text = control.reply()
    if code != 226:
        raise SessionFailed(f"RETR {name} ended with {text}")
    return bytes(received)


def active_upload(control: ControlLine, source: str, verb: str, remote: str, upload: bytes, timeout: float) -> None:
    with socket.socket() as listener:
        listener.bind((source, 0))
        listener.listen(1)
        listener.settimeout(timeout)
        port = listener.getsockname()[1]
        if verb == "PORT":
            control.command(f"PORT {source.replace('.', ',')},{port // 256},{port % 256}", (200,))
        else:
            control.command(f"EPRT |1|{source}|{port}|", (200,))
        control.command(f"STOR {remote}", (125, 150))
        connection, _ = listener.accept()
        with connection:
            connection.sendall(upload)
    code, text = control.reply()
    if code != 226:
        raise SessionFailed(f"STOR ended with {text}")


# --------------------------------------------------------------------------------------
# The bed: vsftpd servers and one ftplb


def start_vsftpd_servers(workdir: Path, servers: dict[str, tuple[str, tuple[int, int]]],
                         payload_size: int) -> tuple[dict[str, ftpenv.FTPServer], tuple[str, int, str]]:
    """vsftpd per entry (name: host, passive range) on port 21, each serving its
    `server-id.txt` and one random `payload.bin`; quiet logs, since a soak makes millions of
    lines. The caller stops them (also on failure)."""
    data = os.urandom(payload_size)
    running: dict[str, ftpenv.FTPServer] = {}
    try:
        for name, (host, passive) in servers.items():
            root = workdir / f"root-{name}"
            ftpenv.populate_root(root, name)
            (root / "payload.bin").write_bytes(data)
            (root / "payload.bin").chmod(0o644)
            running[name] = ftpenv.start_vsftpd(workdir, name, host, 21, passive, root, tls=False,
                                                extra=["log_ftp_protocol=NO", "xferlog_enable=NO"])
    except BaseException:
        for server in running.values():
            server.stop()
        raise
    return running, ("payload.bin", payload_size, hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------------------
# Many sessions from worker processes


def _worker(vip: str, port: int, source: str, count: int, first: int, payload, upload: bytes, results) -> None:
    done, failures = 0, []
    for number in range(first, first + count):
        try:
            one_session(vip, port, source, number, payload, upload)
            done += 1
        except Exception as error:  # every failure counts, whatever it is
            failures.append(f"session {number} from {source}: {type(error).__name__}: {error}")
    results.put((done, failures))


def run_sessions(vip: str, port: int, sources: list[str], count: int, payload, upload: bytes,
                 while_running=None) -> tuple[int, list[str], float]:
    """`count` sessions spread over one worker process per source address; `while_running()`
    is called every half second until they are done. (done, failures, seconds)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    shares = [count // len(sources) + (1 if n < count % len(sources) else 0) for n in range(len(sources))]
    workers = [context.Process(target=_worker, args=(vip, port, source, share, sum(shares[:n]), payload, upload, results))
               for n, (source, share) in enumerate(zip(sources, shares))]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    totals = []
    try:
        # Bounded: at most a day of half-second turns, and each worker's sessions time out.
        for _ in range(2 * 86400):
            if while_running:
                while_running()
            try:
                totals.append(results.get(timeout=0.5))
            except Exception:
                pass
            if len(totals) == len(workers):
                break
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    failures = [f for _, worker_failures in totals for f in worker_failures]
    missing = len(workers) - len(totals)
    failures += [f"{missing} worker(s) never reported"] if missing else []
    return sum(done for done, _ in totals), failures, time.monotonic() - started


# --------------------------------------------------------------------------------------
# What the balancer holds


@dataclasses.dataclass
class Reading:
    descriptors: int
    rss_kib: int
    passive_ports: int
    sessions: int
    # Pipe ends among the descriptors: the splice relay keeps up to 32 emptied pipes (64 ends)
    # for the next data connections, so after a load it may hold those beside its idle ones.
    pipes: int = 0

    @property
    def sockets_and_files(self) -> int:
        return self.descriptors - self.pipes

    def describe(self) -> str:
        return (f"{self.descriptors} descriptors ({self.pipes} pipe ends), {self.passive_ports} passive ports "
                f"in use, {self.sessions} sessions, RSS {self.rss_kib / 1024:.1f} MiB")


def metric(admin: str, name: str) -> int:
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + "{")]
    return int(sum(values))


def read_balancer(pid: int, admin: str) -> Reading:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    links = []
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{name}"))
        except FileNotFoundError:  # closed while listed
            pass
    return Reading(len(links), rss, metric(admin, "ftplb_passive_ports_in_use"),
                   metric(admin, "ftplb_sessions_active"), sum(link.startswith("pipe:") for link in links))


# At most 32 pooled pipes per relay thread (one thread here).
POOLED_PIPE_DESCRIPTORS = 64


def settled(pid: int, admin: str, idle: Reading, timeout: float = 60.0) -> Reading:
    """The balancer once nothing runs: no session, no passive port, its idle sockets and files,
    and at most the relay's pooled pipes (or what it holds after `timeout`, for the caller)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.25) + 1):
        now = read_balancer(pid, admin)
        if now.sessions == 0 and now.passive_ports == 0 and now.sockets_and_files <= idle.sockets_and_files \
                and now.pipes <= idle.pipes + POOLED_PIPE_DESCRIPTORS:
            return now
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return now


def peak(readings: list[Reading]) -> Reading:
    return Reading(max(r.descriptors for r in readings), max(r.rss_kib for r in readings),
                   max(r.passive_ports for r in readings), max(r.sessions for r in readings),
                   max(r.pipes for r in readings))
