#!/usr/bin/python3
"""The splice relay alone: the FTPDataPlane relay against bench/minimal_splice_relay.c, CPU per GiB.

No FTP and no balancer around either: both forward one port, one for one, on loopback

    client ---> 127.0.97.1:29701 (C relay)     ---> 127.0.97.2:29711 sink/source
    client ---> 127.0.97.1:29702 (Swift relay) ---> 127.0.97.2:29711 sink/source

with one relay thread and 1 MiB pipes each. The Swift side is the FTPDataPlaneBench executable
(Sources/FTPDataPlaneBench), which drives the plane's event loop, connector, accept loop and
relay as ftplb's data path does. Each round moves --gib GiB up (client to server) and as much
down through each relay, in an order alternated from round to round, and reads the relay
process's CPU time (user and system, /proc/PID/stat) before and after. The table gives each
relay's median CPU seconds per GiB, the median of the rounds' ratios Swift/C (measurements
seconds apart) and the share of user space in each relay's time. The data ends are separate processes, so that neither waits on the other's GIL.
A benchmark, not a test: nothing here passes or fails; it needs no root.

    bench/relay_cpu.py [--rounds 5] [--gib 2] [--swift PATH]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GIB = 1024 ** 3
CHUNK = 1 << 20
RELAY_IP, TARGET_IP = "127.0.97.1", "127.0.97.2"
C_PORT, SWIFT_PORT, TARGET_PORT = 29701, 29702, 29711
TRANSFER_TIMEOUT = 300.0


def serve(ready) -> None:
    """The far end: 'U' reads to the end and answers the count; 'D' + 8 bytes sends that many."""
    listener = socket.create_server((TARGET_IP, TARGET_PORT), backlog=16, reuse_port=False)
    ready.set()
    payload = memoryview(bytes(CHUNK))
    buffer = bytearray(CHUNK)
    while True:
        connection, _ = listener.accept()
        with connection:
            kind = connection.recv(1)
            if kind == b"U":
                total = 0
                while (count := connection.recv_into(buffer)) > 0:
                    total += count
                connection.sendall(total.to_bytes(8, "big"))
            elif kind == b"D":
                wanted = int.from_bytes(receive_exactly(connection, 8), "big")
                while wanted > 0:
                    wanted -= connection.send(payload[:min(CHUNK, wanted)])
                connection.shutdown(socket.SHUT_WR)
                connection.recv(1)


def receive_exactly(connection: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        more = connection.recv(count - len(data))
        if not more:
            raise RuntimeError("the connection ended early")
        data += more
    return data


def upload(port: int, size: int) -> None:
    with socket.create_connection((RELAY_IP, port), timeout=TRANSFER_TIMEOUT) as connection:
        payload = memoryview(bytes(CHUNK))
        connection.sendall(b"U")
        left = size
        while left > 0:
            left -= connection.send(payload[:min(CHUNK, left)])
        connection.shutdown(socket.SHUT_WR)
        received = int.from_bytes(receive_exactly(connection, 8), "big")
    if received != size:
        raise RuntimeError(f"upload through port {port}: {received} of {size} bytes arrived")


def download(port: int, size: int) -> None:
    buffer = bytearray(CHUNK)
    total = 0
    with socket.create_connection((RELAY_IP, port), timeout=TRANSFER_TIMEOUT) as connection:
        connection.sendall(b"D" + size.to_bytes(8, "big"))
        while (count := connection.recv_into(buffer)) > 0:
            total += count
    if total != size:
        raise RuntimeError(f"download through port {port}: {total} of {size} bytes arrived")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's user and system CPU seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def start(argv: list[str], log: Path) -> subprocess.Popen:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 10
    port = int(argv[-1].split(":")[0])
    while time.monotonic() < deadline:
        try:
            socket.create_connection((RELAY_IP, port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{argv[0]} did not listen on {RELAY_IP}:{port}; see {log}")


def measure(process: subprocess.Popen, port: int, size: int) -> tuple[float, float]:
    """CPU seconds per GiB the relay spent moving `size` bytes up and as many down, and
    the user-space share of them."""
    # The connection the readiness probe made has been relayed and closed by now.
    user_before, system_before = cpu_seconds(process.pid)
    upload(port, size)
    download(port, size)
    user_after, system_after = cpu_seconds(process.pid)
    user, system = user_after - user_before, system_after - system_before
    return (user + system) / (2 * size / GIB), user / max(user + system, 1e-9)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def build(args: argparse.Namespace, workdir: Path) -> tuple[Path, Path]:
    compiler = shutil.which("cc") or shutil.which("clang")
    if not compiler:
        sys.exit("relay_cpu.py needs a C compiler (cc or clang)")
    c_binary = workdir / "minimal_splice_relay"
    subprocess.run([compiler, "-O2", "-o", str(c_binary), str(HERE / "minimal_splice_relay.c")], check=True)
    swift_binary = Path(args.swift) if args.swift else REPO / ".build" / "release" / "FTPDataPlaneBench"
    if not args.swift:
        subprocess.run(["swift", "build", "-c", "release", "--product", "FTPDataPlaneBench"], cwd=REPO, check=True)
    return c_binary, swift_binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gib", type=float, default=2.0, help="GiB each way per round and relay")
    parser.add_argument("--swift", help="a built FTPDataPlaneBench (default: swift build -c release)")
    args = parser.parse_args()
    size = int(args.gib * GIB)
    with tempfile.TemporaryDirectory(prefix="relaycpu") as directory:
        workdir = Path(directory)
        c_binary, swift_binary = build(args, workdir)
        ready = multiprocessing.Event()
        server = multiprocessing.Process(target=serve, args=(ready,), daemon=True)
        server.start()
        relays: dict[str, tuple[subprocess.Popen, int]] = {}
        try:
            if not ready.wait(10):
                raise RuntimeError("the sink/source did not start")
            relays["C"] = (start([str(c_binary), RELAY_IP, TARGET_IP, f"{C_PORT}:{TARGET_PORT}"],
                                 workdir / "c.log"), C_PORT)
            relays["Swift"] = (start([str(swift_binary), RELAY_IP, TARGET_IP, f"{SWIFT_PORT}:{TARGET_PORT}"],
                                     workdir / "swift.log"), SWIFT_PORT)
            figures: dict[str, list[float]] = {"C": [], "Swift": []}
            user_shares: dict[str, list[float]] = {"C": [], "Swift": []}
            for round_index in range(args.rounds):
                order = ("C", "Swift") if round_index % 2 == 0 else ("Swift", "C")
                for name in order:
                    process, port = relays[name]
                    per_gib, user_share = measure(process, port, size)
                    figures[name].append(per_gib)
                    user_shares[name].append(user_share)
                print(f"round {round_index + 1}: C {figures['C'][-1]:.3f}, Swift {figures['Swift'][-1]:.3f} "
                      "CPU s per GiB", flush=True)
        finally:
            for process, _ in relays.values():
                process.kill()
                process.wait()
            server.kill()
            server.join()
    ratios = [swift / c for c, swift in zip(figures["C"], figures["Swift"]) if c > 0]
    print()
    print(f"Medians of {args.rounds} round(s), {args.gib:g} GiB each way per round; the ratio is the median "
          "of the rounds' Swift/C ratios.")
    print()
    print("| figure | minimal C relay | FTPDataPlane relay | ratio |")
    print("|---|---:|---:|---:|")
    ratio = f"{median(ratios):.2f}x" if ratios else "-"
    print(f"| relay CPU s per GiB | {median(figures['C']):.3f} | {median(figures['Swift']):.3f} | {ratio} |")
    print(f"| of which user space | {median(user_shares['C']):.0%} | {median(user_shares['Swift']):.0%} | |")
    print()
    print("Ratios, round by round: " + " / ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
