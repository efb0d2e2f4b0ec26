#!/usr/bin/python3
"""Side-by-side benchmark: the same FTP server reached directly and through ftplb, in one run.

Measures a 1 GiB download (curl, EPSV) and full sessions per second (8 parallel clients, each
session: connect, login, EPSV, RETR of 1 KiB, QUIT), plus ftplb's CPU seconds per GiB and CPU
milliseconds per session, and prints each figure with its ratio to direct. Runs on loopback
addresses only, as root (vsftpd logs in a system user). A benchmark, not a test: nothing here
passes or fails.

    sudo bench/run.py [--download-runs 3] [--session-seconds 8] [--ftplb PATH]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
import ftpenv  # noqa: E402  (the integration suite's real-peer helpers)

SERVER = ("127.0.40.11", 21)
BALANCER = ("127.0.40.1", 21)
BALANCER_SOURCE = "127.0.40.2"
GIB = 1024 ** 3


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def download_mb_per_s(host: str, port: int) -> float:
    url = f"ftp://{ftpenv.FTP_USER}:{ftpenv.FTP_PASSWORD}@{host}:{port}/big.bin"
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url],
        check=True, capture_output=True, timeout=300,
    ).stdout.decode().split()
    size, seconds = int(out[0]), float(out[1])
    assert size == GIB, f"downloaded {size} bytes"
    return size / seconds / 1e6


def read_reply(sock: socket.socket, buffer: bytearray) -> bytes:
    """One complete (possibly multi-line) reply."""
    first = None
    while True:
        while b"\n" not in buffer:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("control connection closed")
            buffer += chunk
        line, _, rest = bytes(buffer).partition(b"\n")
        buffer[:] = rest
        if first is None:
            first = line
            if line[3:4] != b"-":
                return line
        elif line[:3] == first[:3] and line[3:4] == b" ":
            return first


def one_session(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=10) as control:
        buffer = bytearray()
        read_reply(control, buffer)
        for command in (f"USER {ftpenv.FTP_USER}", f"PASS {ftpenv.FTP_PASSWORD}", "TYPE I", "EPSV"):
            control.sendall(command.encode() + b"\r\n")
            reply = read_reply(control, buffer)
        data_port = int(reply.split(b"|")[-2])
        with socket.create_connection((host, data_port), timeout=10) as data:
            control.sendall(b"RETR 1k.bin\r\n")
            read_reply(control, buffer)  # 150
            received = 0
            while chunk := data.recv(65536):
                received += len(chunk)
        assert received == 1024, received
        read_reply(control, buffer)  # 226
        control.sendall(b"QUIT\r\n")
        read_reply(control, buffer)


def session_worker(host: str, port: int, seconds: float, results) -> None:
    done = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            one_session(host, port)
            done += 1
        except Exception:
            failed += 1
            if failed > 50:
                break
    results.put((done, failed))


def sessions_per_second(host: str, port: int, seconds: float, clients: int = 8) -> tuple[float, int]:
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=session_worker, args=(host, port, seconds, results))
               for _ in range(clients)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    totals = [results.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    elapsed = time.monotonic() - started
    return sum(done for done, _ in totals) / elapsed, sum(failed for _, failed in totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--download-runs", type=int, default=3)
    parser.add_argument("--session-seconds", type=float, default=8.0)
    parser.add_argument("--ftplb", help="the ftplb binary (default: a release build, built if missing)")
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    if args.ftplb:
        os.environ["FTPLB_BIN"] = args.ftplb
    else:
        subprocess.run(["swift", "build", "-c", "release", "--product", "ftplb"], cwd=repo, check=True)
        bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=repo,
                                  check=True, capture_output=True).stdout.decode().strip()
        os.environ["FTPLB_BIN"] = str(Path(bin_path) / "ftplb")

    ftpenv.ensure_ftp_user()
    with tempfile.TemporaryDirectory(prefix="ftplb-bench-") as temporary:
        work = ftpenv.make_world_readable_dir(Path(temporary))  # vsftpd's user must reach the root
        root = work / "root"
        root.mkdir()
        ftpenv.populate_root(root, "bench")
        ftpenv.make_random_file(root / "big.bin", GIB)
        (root / "1k.bin").write_bytes(os.urandom(1024))
        for path in root.iterdir():
            path.chmod(0o644)

        server = ftpenv.start_vsftpd(work, "bench-vsftpd", *SERVER, (52000, 52999), root, tls=False)
        balancer = None
        try:
            balancer = ftpenv.start_ftplb(work, "bench-ftplb", *BALANCER, BALANCER[0], (42000, 47999),
                                          BALANCER_SOURCE, [f"{SERVER[0]}:{SERVER[1]}"],
                                          log_level="warning",
                                          timeouts={"control_idle": "60s", "data_idle": "60s"})
            pid = balancer.process.pid
            rss_idle = rss_kib(pid)
            rows = []

            direct, through = [], []
            cpu_before = cpu_seconds(pid)
            for _ in range(args.download_runs):  # alternate, so drift hits both alike
                direct.append(download_mb_per_s(*SERVER))
                through.append(download_mb_per_s(*BALANCER))
            cpu_per_gib = (cpu_seconds(pid) - cpu_before) / args.download_runs
            rows.append(("1 GiB RETR, MB/s (best)", max(direct), max(through)))

            direct_rate, direct_failed = sessions_per_second(*SERVER, args.session_seconds)
            cpu_before = cpu_seconds(pid)
            through_rate, through_failed = sessions_per_second(*BALANCER, args.session_seconds)
            cpu_per_session_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, through_rate * args.session_seconds)
            rows.append(("sessions/s, 8 clients", direct_rate, through_rate))
            rss_peak = int(Path(f"/proc/{pid}/status").read_text().split("VmHWM:")[1].split()[0])
        finally:
            if balancer:
                balancer.stop()
            server.stop()

    print()
    print(f"{'figure':<28}{'direct':>12}{'ftplb':>12}{'ratio':>8}")
    for name, d, t in rows:
        print(f"{name:<28}{d:>12.1f}{t:>12.1f}{t / d:>8.2f}")
    print(f"ftplb CPU per GiB relayed:   {cpu_per_gib:.2f} s")
    print(f"ftplb CPU per session:       {cpu_per_session_ms:.2f} ms")
    print(f"ftplb RSS idle / peak:       {rss_idle / 1024:.1f} / {rss_peak / 1024:.1f} MiB")
    if direct_failed or through_failed:
        print(f"failed sessions: direct {direct_failed}, ftplb {through_failed}")


if __name__ == "__main__":
    main()
