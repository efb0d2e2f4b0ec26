#!/usr/bin/python3
"""What client_address: transparent costs: the same vsftpd reached three ways in one run.

In network namespaces (client -> balancer, the servers' gateway -> vsftpd), as the tests build
them: directly through the balancer's routing (no ftplb involved), through ftplb with
client_address: none, and through ftplb with client_address: transparent. Figures: a 1 GiB
RETR in EPSV and in PORT mode (MB/s, best of N), sessions per second with 8 parallel clients
(login, EPSV, RETR 1 KiB, QUIT), and ftplb's CPU per GiB and per session, each with its ratio
to the routed path. As root. A benchmark, not a test: nothing here passes or fails.

    sudo bench/transparent.py [--download-runs 3] [--session-seconds 6] [--ftplb PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
sys.path.insert(0, str(HERE))
import ftpenv  # noqa: E402  (the integration suite's real-peer helpers)
import run as side_by_side  # noqa: E402  (bench/run.py: session and CPU helpers)
from ftpenv import NetnsTopology  # noqa: E402

GIB = 1024 ** 3
SERVER = NetnsTopology.SERVER_IPS[0]
VIP = NetnsTopology.VIP


def download(topology: NetnsTopology, host: str, mode: str) -> float:
    """MB/s of one 1 GiB download from the client namespace."""
    url = f"ftp://{ftpenv.FTP_USER}:{ftpenv.FTP_PASSWORD}@{host}:21/big.bin"
    flags = ["--ftp-port", "-"] if mode == "port" else []
    out = topology.run_in(topology.client, ["curl", "-s", *flags, "-o", "/dev/null", "-w",
                                            "%{size_download} %{time_total}", url], timeout=300)
    size, seconds = out.stdout.decode().split()
    assert int(size) == GIB, f"downloaded {size} bytes: {out.stderr.decode()}"
    return GIB / float(seconds) / 1e6


def sessions(topology: NetnsTopology, host: str, seconds: float) -> tuple[float, int]:
    """Sessions per second, the clients running in the client namespace."""
    out = topology.run_in(topology.client, [ftpenv.SYSTEM_PYTHON, __file__, "--sessions-worker", host,
                                            str(seconds)], timeout=seconds + 120)
    assert out.returncode == 0, out.stderr.decode()
    rate, failed = json.loads(out.stdout)
    return rate, failed


def start_ftplb(topology: NetnsTopology, binary: str, mode: str, workdir: Path) -> ftpenv.ManagedProcess:
    flags = ["--listen", f"{VIP}:21", "--server", f"{SERVER}:21", "--passive-ports", "40000-40999",
             "--health-check", "tcp"]
    if mode == "transparent":
        flags += ["--client-address", "transparent"]
        setup = topology.run_in(topology.balancer, [binary, "setup-transparent", *flags, "--apply"])
        assert setup.returncode == 0, setup.stderr.decode()
    else:
        flags += ["--source-address", NetnsTopology.BALANCER_SERVER_SIDE]
    argv = [binary, "run", *flags, "--log-level", "notice"]
    process = ftpenv.ManagedProcess(f"ftplb-{mode}", ftpenv.ns_prefix(topology.balancer) + argv,
                                    workdir / f"ftplb-{mode}.log")
    ftpenv.wait_for_tcp(VIP, 21, proc=process, ns=topology.balancer)
    return process


def measure(topology: NetnsTopology, host: str, process: ftpenv.ManagedProcess | None, runs: int,
            session_seconds: float) -> dict:
    figures: dict = {}
    cpu_before = side_by_side.cpu_seconds(process.pid) if process else 0.0
    figures["epsv"] = max(download(topology, host, "epsv") for _ in range(runs))
    figures["port"] = max(download(topology, host, "port") for _ in range(runs))
    if process:
        figures["cpu_per_gib"] = (side_by_side.cpu_seconds(process.pid) - cpu_before) / (2 * runs)
        cpu_before = side_by_side.cpu_seconds(process.pid)
    rate, failed = sessions(topology, host, session_seconds)
    figures["sessions"], figures["failed"] = rate, failed
    if process:
        figures["cpu_per_session_ms"] = (side_by_side.cpu_seconds(process.pid) - cpu_before) * 1000 / max(
            1, rate * session_seconds)
        figures["rss_mib"] = side_by_side.rss_kib(process.pid) / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--download-runs", type=int, default=3)
    parser.add_argument("--session-seconds", type=float, default=6.0)
    parser.add_argument("--ftplb", help="the ftplb binary (default: the release build)")
    parser.add_argument("--sessions-worker", nargs=2, metavar=("HOST", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sessions_worker:
        host, seconds = args.sessions_worker
        print(json.dumps(side_by_side.sessions_per_second(host, 21, float(seconds))))
        return

    repo = HERE.parent
    binary = args.ftplb or str(repo / ".build" / "release" / "ftplb")
    if not Path(binary).exists():
        subprocess.run(["swift", "build", "-c", "release", "--product", "ftplb"], cwd=repo, check=True)
    NetnsTopology.remove_stale()
    topology = NetnsTopology(tag="bench")
    started: list = []
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ftplb-bench-tp-") as scratch:
        workdir = Path(scratch)
        workdir.chmod(0o755)  # the FTP user must reach the server's root below it
        try:
            topology.create()
            ftpenv.ensure_ftp_user()
            root = ftpenv.make_world_readable_dir(workdir / "root")
            ftpenv.make_random_file(root / "big.bin", GIB)
            (root / "1k.bin").write_bytes(os.urandom(1024))
            for name in ("big.bin", "1k.bin"):
                os.chmod(root / name, 0o644)
            server = ftpenv.start_vsftpd(workdir, "vsftpd", SERVER, 21, (41000, 41999), root, tls=False,
                                         ns=topology.servers[0])
            started.append(server)
            print("routed (no ftplb) ...", flush=True)
            results["routed"] = measure(topology, SERVER, None, args.download_runs, args.session_seconds)
            for mode in ("none", "transparent"):
                print(f"ftplb, client_address {mode} ...", flush=True)
                process = start_ftplb(topology, binary, mode, workdir)
                started.append(process)
                time.sleep(0.5)
                results[mode] = measure(topology, VIP, process, args.download_runs, args.session_seconds)
                process.stop()
                started.remove(process)
        finally:
            for item in reversed(started):
                item.stop()
            topology.destroy()

    base = results["routed"]
    print()
    print(f"{'figure':<30}{'routed':>10}{'none':>10}{'ratio':>7}{'transparent':>13}{'ratio':>7}")
    for key, label in (("epsv", "1 GiB RETR EPSV, MB/s"), ("port", "1 GiB RETR PORT, MB/s"),
                       ("sessions", "sessions/s, 8 clients")):
        row = f"{label:<30}{base[key]:>10.1f}"
        for mode in ("none", "transparent"):
            value = results[mode][key]
            row += f"{value:>10.1f}{value / base[key]:>7.2f}" if mode == "none" else f"{value:>13.1f}{value / base[key]:>7.2f}"
        print(row)
    for mode in ("none", "transparent"):
        figures = results[mode]
        print(f"ftplb ({mode}): {figures['cpu_per_gib']:.2f} CPU s/GiB, {figures['cpu_per_session_ms']:.2f} CPU ms/session, "
              f"RSS {figures['rss_mib']:.1f} MiB, failed sessions {figures['failed']}")
    print(f"failed sessions on the routed path: {base['failed']}")


if __name__ == "__main__":
    main()
