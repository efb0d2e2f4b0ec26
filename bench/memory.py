#!/usr/bin/python3
"""ftplb's memory: per idle session, and under a slow reader.

1. Idle sessions: N control sessions are opened through ftplb to one pyftpdlib (a single-threaded
   server, so that thousands of sessions are cheap on its side), each logged in and then left
   idle. ftplb's RSS growth divided by N is the cost of a session. The goal is 10 KiB; N defaults
   to 9,000 because this machine caps open files at 20,000 per process and ftplb holds two
   sockets per session.
2. Slow reader: a 4 GiB download through ftplb to a client reading at 10 MB/s (curl
   --limit-rate), from vsftpd; ftplb's RSS is sampled every 100 ms and its peak printed. The goal
   is under 64 MiB: a relay that buffered what the client has not read yet would grow by GiBs.

On loopback addresses 127.0.74.x, as root. A benchmark, not a test: nothing passes or fails.

    sudo bench/memory.py [--sessions 9000] [--slow-gib 4] [--slow-rate 10M] [--ftplb PATH]
                         [--skip-idle] [--skip-slow] [--config-extra YAML]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
import ftpenv  # noqa: E402  (the integration suite's real-peer helpers)

BALANCER = ("127.0.74.1", 2121)
SOURCE = "127.0.74.2"
PYFTPD = ("127.0.74.11", 2121)
VSFTPD = ("127.0.74.12", 2121)
GIB = 1024 ** 3


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def start_ftplb(workdir: Path, binary: str, server: tuple[str, int], extra: str) -> ftpenv.ManagedProcess:
    config = workdir / "ftplb.yaml"
    config.write_text("\n".join([
        "log_level: warning",
        *([extra] if extra else []),
        "virtual_services:",
        "  - name: memory",
        f"    listen: {BALANCER[0]}:{BALANCER[1]}",
        f"    passive_ports: 46000-46999",
        f"    source_address: {SOURCE}",
        "    health_check: {type: tcp}",
        "    limits: {max_sessions: 20000, max_sessions_per_client: 20000}",
        "    servers:",
        f"      - {{name: server, address: '{server[0]}:{server[1]}'}}",
        "    timeouts: {control_idle: 30m, data_idle: 10m}",
        "",
    ]))
    process = ftpenv.ManagedProcess("ftplb", [binary, "run", "--config", str(config)], workdir / "ftplb.log")
    ftpenv.wait_for_tcp(*BALANCER, proc=process)
    return process


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line


async def open_idle_session(semaphore: asyncio.Semaphore, sessions: list) -> None:
    async with semaphore:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(*BALANCER), 30)
        await asyncio.wait_for(read_reply(reader), 30)
        for command, expected in ((f"USER {ftpenv.FTP_USER}", b"331"), (f"PASS {ftpenv.FTP_PASSWORD}", b"230")):
            writer.write(command.encode() + b"\r\n")
            reply = await asyncio.wait_for(read_reply(reader), 30)
            if not reply.startswith(expected):
                raise RuntimeError(f"{command.split()[0]}: {reply!r}")
        sessions.append((reader, writer))


async def hold_idle_sessions(count: int, pid: int) -> tuple[int, int, float]:
    """Opens `count` logged-in sessions, measures RSS, closes them. Returns (before, after, seconds)."""
    warm: list = []
    await asyncio.gather(*(open_idle_session(asyncio.Semaphore(8), warm) for _ in range(16)))
    for _, writer in warm:
        writer.close()
    await asyncio.sleep(1)
    before = rss_kib(pid)
    sessions: list = []
    semaphore = asyncio.Semaphore(100)
    started = time.monotonic()
    results = await asyncio.gather(*(open_idle_session(semaphore, sessions) for _ in range(count)),
                                   return_exceptions=True)
    seconds = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise RuntimeError(f"{len(errors)} of {count} sessions failed, first: {errors[0]!r}")
    await asyncio.sleep(2)  # let ftplb settle
    after = rss_kib(pid)
    for _, writer in sessions:
        writer.close()
    return before, after, seconds


def idle_sessions(workdir: Path, binary: str, count: int, extra: str) -> None:
    root = ftpenv.make_world_readable_dir(workdir / "pyftpd-root")
    server = ftpenv.start_pyftpdlib(workdir, "pyftpd", *PYFTPD, (45000, 45099), root,
                                    extra=["--single-thread", "--max-sessions", "0"])
    balancer = None
    try:
        balancer = start_ftplb(workdir, binary, PYFTPD, extra)
        before, after, seconds = asyncio.run(hold_idle_sessions(count, balancer.pid))
        per_session = (after - before) / count
        print(f"idle sessions: {count} logged in over {seconds:.1f} s; ftplb RSS {before / 1024:.1f} -> "
              f"{after / 1024:.1f} MiB: {per_session:.2f} KiB per session (goal: at most 10)")
    finally:
        if balancer:
            balancer.stop()
        server.stop()


def slow_reader(workdir: Path, binary: str, gib: float, rate: str, extra: str) -> None:
    root = ftpenv.make_world_readable_dir(workdir / "vsftpd-root")
    size = int(gib * GIB)
    with open(root / "huge.bin", "wb") as f:
        f.truncate(size)  # sparse: what the relay holds does not depend on the bytes
    os.chmod(root / "huge.bin", 0o644)
    server = ftpenv.start_vsftpd(workdir, "vsftpd", *VSFTPD, (47000, 47099), root, tls=False)
    balancer = None
    try:
        balancer = start_ftplb(workdir, binary, VSFTPD, extra)
        pid = balancer.pid
        idle = rss_kib(pid)
        peak = [idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                peak[0] = max(peak[0], rss_kib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        url = f"ftp://{ftpenv.FTP_USER}:{ftpenv.FTP_PASSWORD}@{BALANCER[0]}:{BALANCER[1]}/huge.bin"
        started = time.monotonic()
        out = subprocess.run(["curl", "-s", "--limit-rate", rate, "-o", "/dev/null", "-w", "%{size_download}", url],
                             capture_output=True, timeout=size / 1e6 + 600)
        stop.set()
        sampler.join(timeout=5)
        received = int(out.stdout.decode() or 0)
        print(f"slow reader: {received / GIB:.2f} GiB at {rate}/s in {time.monotonic() - started:.0f} s "
              f"(curl exit {out.returncode}); ftplb RSS idle {idle / 1024:.1f} MiB, peak {peak[0] / 1024:.1f} MiB "
              f"(goal: under 64)")
        if received != size:
            print(f"  incomplete: {received} of {size} bytes")
    finally:
        if balancer:
            balancer.stop()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=9000)
    parser.add_argument("--slow-gib", type=float, default=4.0)
    parser.add_argument("--slow-rate", default="10M", help="curl --limit-rate (bytes per second)")
    parser.add_argument("--ftplb", help="the ftplb binary (default: the release build, built if missing)")
    parser.add_argument("--config-extra", default="", help="top-level YAML added to ftplb's config")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-slow", action="store_true")
    args = parser.parse_args()

    binary = args.ftplb or str(REPO / ".build" / "release" / "ftplb")
    if not Path(binary).exists():
        subprocess.run(["swift", "build", "-c", "release", "--product", "ftplb"], cwd=REPO, check=True)
    ftpenv.ensure_ftp_user()
    with tempfile.TemporaryDirectory(prefix="ftplb-memory-") as scratch:
        workdir = ftpenv.make_world_readable_dir(Path(scratch))
        if not args.skip_idle:
            idle_sessions(workdir, binary, args.sessions, args.config_extra)
        if not args.skip_slow:
            slow_reader(workdir, binary, args.slow_gib, args.slow_rate, args.config_extra)


if __name__ == "__main__":
    main()
