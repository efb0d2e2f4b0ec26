#!/usr/bin/python3
"""ftplb against the alternatives, in one run: direct, ftplb, HAProxy in TCP mode, ProFTPD mod_proxy.

Three network namespaces; the balancer's namespace does not route (ip_forward=0):

    client 10.88.1.2 ----- 10.88.1.10 (VIP)  balancer  10.88.2.1 ----- 10.88.2.11 server
    client 10.88.3.2 -------------------------------------------------- 10.88.3.11 server (direct)

One vsftpd serves the same files on every path. Targets:
  direct          the client talks to vsftpd itself, over its own link
  ftplb           ftplb's quick form (passive replies rewritten to the VIP)
  ftplb-copy      ftplb with `data_path: {relay: copy}` (the SwiftNIO copy relay), if supported
  ftplb-baseline  another ftplb binary (--baseline-ftplb, say the last release's), so that a
                  change is measured side by side with what it changes
  haproxy         HAProxy in TCP mode as it is deployed for FTP: passive only, the server
                  advertising the VIP, the passive range forwarded port for port; no splice
  haproxy-splice  the same with `option splice-request` and `option splice-response`
  splice-minimal  bench/minimal_splice_relay.c, deployed like HAProxy: the least a splice relay
                  can cost on this machine, a floor for ftplb's data path (needs a C compiler)
  mod_proxy       ProFTPD's mod_proxy as a reverse proxy (Debian's proftpd-mod-proxy)

Figures per target: 1 GiB RETR and STOR (curl, EPSV; MB/s, best of N), sessions per second with
8 parallel clients (login, EPSV, RETR 1 KiB, QUIT), the balancer's CPU seconds per GiB and CPU
milliseconds per session (its process and its reaped children, so mod_proxy's per-session
processes count), the whole machine's busy CPU seconds per GiB moved (client, balancer, server
and kernel together: what the shared cores pay), RSS idle and peak (summed over its processes).

The machine's noise is of the order of the differences measured, so every target is measured
in each of --rounds rounds, in an order rotated from round to round, and the table gives each
figure's median. A balancer's every transfer and session run has a direct run beside it, in
alternating order (the direct vsftpd is always up), and a ratio to direct is the median over the
rounds of these pairs' ratios: measurements seconds apart, not minutes. A second table lists
every round's ratios.
As root. A benchmark, not a test: nothing here passes or fails.

    sudo bench/compare.py [--targets direct,ftplb,haproxy,haproxy-splice,splice-minimal,mod_proxy] [--rounds 3]
                          [--download-runs 2] [--session-seconds 6] [--session-runs 2]
                          [--ftplb PATH] [--pipe-size 1MiB]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))
import ftpenv  # noqa: E402  (the integration suite's real-peer helpers)
import run as side_by_side  # noqa: E402  (bench/run.py: the session worker)

GIB = 1024 ** 3
PREFIX = "ftplbbench"
CLIENT, VIP, DIRECT_CLIENT = "10.88.1.2", "10.88.1.10", "10.88.3.2"
BALANCER_SOURCE, SERVER, DIRECT_SERVER = "10.88.2.1", "10.88.2.11", "10.88.3.11"
# vsftpd for ftplb and mod_proxy: announces its own address, ftplb/mod_proxy rewrite it.
SERVER_PORT, SERVER_PASSIVE = 21, (41000, 41999)
# vsftpd for HAProxy and the minimal relay: announces the VIP, and they forward the same range
# port for port.
HAPROXY_SERVER_PORT, HAPROXY_PASSIVE = 2100, (50000, 50199)
BALANCER_PASSIVE = (40000, 40999)
PROFTPD = REPO / ".test-deps" / "proftpd"
ALL_TARGETS = ("direct", "ftplb", "ftplb-copy", "ftplb-baseline", "haproxy", "haproxy-splice", "splice-minimal", "mod_proxy")
DEFAULT_TARGETS = ("direct", "ftplb", "haproxy", "haproxy-splice", "splice-minimal", "mod_proxy")


class Topology:
    def __init__(self) -> None:
        stem = f"{PREFIX}{os.getpid()}"
        self.client, self.balancer, self.server = f"{stem}-c", f"{stem}-b", f"{stem}-s"
        self.created: list[str] = []

    def ip(self, ns: str | None, *args: str) -> None:
        ftpenv.run(ftpenv.ns_prefix(ns) + ["ip", *args], timeout=10)

    def link(self, a: str, a_name: str, a_ip: str, b: str, b_name: str, b_ip: str) -> None:
        self.ip(None, "link", "add", a_name, "netns", a, "type", "veth", "peer", "name", b_name, "netns", b)
        for ns, name, address in ((a, a_name, a_ip), (b, b_name, b_ip)):
            self.ip(ns, "addr", "add", address, "dev", name)
            self.ip(ns, "link", "set", name, "up")

    def create(self) -> None:
        remove_stale()
        for ns in (self.client, self.balancer, self.server):
            ftpenv.run(["ip", "netns", "add", ns], timeout=10)
            self.created.append(ns)
            self.ip(ns, "link", "set", "lo", "up")
        self.link(self.client, "c-b", f"{CLIENT}/24", self.balancer, "b-c", f"{VIP}/24")
        self.link(self.balancer, "b-s", f"{BALANCER_SOURCE}/24", self.server, "s-b", f"{SERVER}/24")
        self.link(self.client, "c-s", f"{DIRECT_CLIENT}/24", self.server, "s-c", f"{DIRECT_SERVER}/24")
        ftpenv.run(ftpenv.ns_prefix(self.balancer) + ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], timeout=10)

    def destroy(self) -> None:
        for ns in reversed(self.created):
            delete_namespace(ns)
        self.created.clear()

    def run_in(self, ns: str, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(ftpenv.ns_prefix(ns) + argv, capture_output=True, timeout=timeout)


def delete_namespace(name: str) -> None:
    for pid in ftpenv.run(["ip", "netns", "pids", name], timeout=10, check=False).stdout.decode().split():
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass
    ftpenv.run(["ip", "netns", "del", name], timeout=10, check=False)


def remove_stale() -> None:
    """Namespaces of an earlier run whose process is gone."""
    for line in ftpenv.run(["ip", "netns", "list"], timeout=10).stdout.decode().splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            pid = name[len(PREFIX):].split("-")[0]
            if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                delete_namespace(name)


# --------------------------------------------------------------------------------------
# Measuring a balancer process (and its children)


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """The process's CPU time plus that of its reaped children (forked sessions)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU of the process, its reaped children and its children still running."""
    total = cpu_seconds(pid)
    for child in process_tree(pid)[1:]:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


def tree_rss_kib(pid: int) -> int:
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent on anything but idling, so far."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class PeakSampler:
    """Samples the summed RSS of a process tree every 100 ms while a measurement runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kib = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------
# Clients (run in the client namespace)


def transfer(topology: Topology, host: str, port: int, direction: str, upload_file: Path, tag: str) -> float:
    """MB/s of one 1 GiB RETR or STOR with curl in EPSV mode."""
    base = f"ftp://{ftpenv.FTP_USER}:{ftpenv.FTP_PASSWORD}@{host}:{port}"
    if direction == "retr":
        argv = ["curl", "-s", "-o", "/dev/null", f"{base}/big.bin"]
        key = "%{size_download}"
    else:
        argv = ["curl", "-s", "-T", str(upload_file), f"{base}/upload-{tag}.bin"]
        key = "%{size_upload}"
    out = topology.run_in(topology.client, argv + ["-w", f"{key} %{{time_total}}"], timeout=600)
    fields = out.stdout.decode().split()
    if out.returncode != 0 or len(fields) != 2 or int(float(fields[0])) != GIB:
        raise RuntimeError(f"{direction} via {host}:{port} failed: rc={out.returncode} {out.stdout!r} {out.stderr!r}")
    return GIB / float(fields[1]) / 1e6


def sessions(topology: Topology, host: str, port: int, seconds: float) -> tuple[float, int]:
    out = topology.run_in(topology.client, [ftpenv.SYSTEM_PYTHON, __file__, "--sessions-worker", host, str(port),
                                            str(seconds)], timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    rate, failed = json.loads(out.stdout)
    return rate, failed


# --------------------------------------------------------------------------------------
# Targets: each starts in the balancer namespace and returns (process, host, port)


def start_ftplb(topology: Topology, workdir: Path, binary: str, relay: str | None,
                pipe_size: str | None = None) -> ftpenv.ManagedProcess:
    lines = ["log_level: warning", "data_path:", f"  relay: {relay or 'splice'}"]
    if pipe_size:
        lines.append(f"  pipe_size: {pipe_size}")
    lines += [
        "virtual_services:",
        "  - name: bench",
        f"    listen: {VIP}:21",
        f"    advertise: {VIP}",
        f"    passive_ports: {BALANCER_PASSIVE[0]}-{BALANCER_PASSIVE[1]}",
        f"    source_address: {BALANCER_SOURCE}",
        "    health_check: {type: tcp}",
        "    limits: {max_sessions: 20000, max_sessions_per_client: 20000}",
        "    servers:",
        f"      - {{name: vsftpd, address: '{SERVER}:{SERVER_PORT}'}}",
        "    timeouts: {control_idle: 10m, data_idle: 5m}",
    ]
    config = workdir / f"ftplb-{relay or 'default'}.yaml"
    config.write_text("\n".join(lines) + "\n")
    process = ftpenv.ManagedProcess("ftplb", ftpenv.ns_prefix(topology.balancer) + [binary, "run", "--config", str(config)],
                                    workdir / f"ftplb-{relay or 'default'}.log")
    ftpenv.wait_for_tcp(VIP, 21, proc=process, ns=topology.balancer)
    return process


def start_haproxy(topology: Topology, workdir: Path, splice: bool) -> ftpenv.ManagedProcess:
    first, last = HAPROXY_PASSIVE
    config = workdir / f"haproxy-{'splice' if splice else 'plain'}.cfg"
    config.write_text("\n".join([
        "global",
        "    maxconn 4000",  # with splice pipes, under the 20000 open-files cap
        "defaults",
        "    mode tcp",
        "    timeout connect 5s",
        "    timeout client 5m",
        "    timeout server 5m",
        # splice-auto leaves it to heuristics; these two make HAProxy splice every transfer
        *(["    option splice-request", "    option splice-response"] if splice else []),
        "frontend ftp_control",
        f"    bind {VIP}:21",
        "    default_backend ftp_control",
        "backend ftp_control",
        f"    server vsftpd {SERVER}:{HAPROXY_SERVER_PORT}",
        "frontend ftp_passive",
        f"    bind {VIP}:{first}-{last}",
        "    default_backend ftp_passive",
        "backend ftp_passive",
        f"    server vsftpd {SERVER}",  # no port: the one the client connected to
        "",
    ]))
    process = ftpenv.ManagedProcess("haproxy", ftpenv.ns_prefix(topology.balancer) + ["haproxy", "-db", "-f", str(config)],
                                    workdir / "haproxy.log")
    ftpenv.wait_for_tcp(VIP, 21, proc=process, ns=topology.balancer)
    return process


def c_compiler() -> str | None:
    """The system's C compiler, or the Swift toolchain's clang."""
    return shutil.which("cc") or shutil.which("clang")


def start_minimal_splice_relay(topology: Topology, workdir: Path) -> ftpenv.ManagedProcess:
    """The minimal C relay, built on first use, forwarding the control port and the passive
    range to the vsftpd that HAProxy uses."""
    binary = workdir / "minimal_splice_relay"
    if not binary.exists():
        subprocess.run([c_compiler(), "-O2", "-o", str(binary), str(HERE / "minimal_splice_relay.c")], check=True)
    first, last = HAPROXY_PASSIVE
    forwards = [f"21:{HAPROXY_SERVER_PORT}"] + [f"{port}:{port}" for port in range(first, last + 1)]
    process = ftpenv.ManagedProcess("minimal_splice_relay",
                                    ftpenv.ns_prefix(topology.balancer) + [str(binary), VIP, SERVER, *forwards],
                                    workdir / "minimal_splice_relay.log")
    ftpenv.wait_for_tcp(VIP, 21, proc=process, ns=topology.balancer)
    return process


def start_mod_proxy(topology: Topology, workdir: Path) -> ftpenv.ManagedProcess:
    tables = workdir / "proxy-tables"
    tables.mkdir(exist_ok=True)
    first, last = BALANCER_PASSIVE
    config = workdir / "proftpd.conf"
    config.write_text("\n".join([
        f"ModulePath {PROFTPD}/usr/lib/proftpd",
        "LoadModule mod_tls.c",
        "LoadModule mod_proxy.c",
        'ServerName "mod_proxy bench"',
        "ServerType standalone",
        "DefaultServer on",
        f"DefaultAddress {VIP}",
        "SocketBindTight on",
        "Port 21",
        "User nobody",
        "Group nogroup",
        "MaxInstances 2000",
        "UseIPv6 off",
        "UseReverseDNS off",
        "WtmpLog off",
        "DelayEngine off",
        f"ScoreboardFile {workdir}/proftpd.scoreboard",
        f"PidFile {workdir}/proftpd.pid",
        f"PassivePorts {first} {last}",
        "<IfModule mod_proxy.c>",
        "  ProxyEngine on",
        "  ProxyRole reverse",
        f"  ProxyTables {tables}",
        f"  ProxyLog {workdir}/proxy.log",
        f"  ProxyReverseServers ftp://{SERVER}:{SERVER_PORT}",
        "  ProxyReverseConnectPolicy RoundRobin",
        f"  ProxySourceAddress {BALANCER_SOURCE}",
        "  ProxyTimeoutConnect 5",
        "</IfModule>",
        "",
    ]))
    process = ftpenv.ManagedProcess(
        "proftpd",
        ftpenv.ns_prefix(topology.balancer) + [str(PROFTPD / "usr/sbin/proftpd"), "-n", "-q", "-c", str(config)],
        workdir / "proftpd.log", group=True)
    ftpenv.wait_for_tcp(VIP, 21, proc=process, ns=topology.balancer)
    return process


# --------------------------------------------------------------------------------------


def paired_order(run: int, paired: bool) -> tuple[str, ...]:
    """The runs of one pair: direct first in even runs, the target first in odd ones, so that a
    drift in the machine's speed weighs on both alike; the target alone when it is direct."""
    if not paired:
        return ("target",)
    return ("direct", "target") if run % 2 == 0 else ("target", "direct")


def measure(topology: Topology, name: str, host: str, port: int, process: ftpenv.ManagedProcess | None,
            args: argparse.Namespace, upload_file: Path, root: Path) -> dict:
    """The target's figures, and for a balancer the direct path's measured right beside them.

    Every RETR, STOR and session run through a balancer has a direct run next to it (the direct
    vsftpd is always up), in alternating order, and the ratios to direct come from these pairs:
    seconds apart, where the direct target's own figures were measured minutes earlier or later.
    """
    figures: dict = {"failed": 0}
    paired = name != "direct"
    direct: dict = {"retr": 0.0, "stor": 0.0, "sessions": 0.0}
    pid = process.pid if process else None
    if pid:
        time.sleep(0.5)
        figures["rss_idle_mib"] = tree_rss_kib(pid) / 1024
    sampler = PeakSampler(pid) if pid else None
    if sampler:
        sampler.__enter__()
    try:
        cpu_transfers = 0.0
        for direction in ("retr", "stor"):
            figures[direction], machine = 0.0, 0.0
            for run in range(args.download_runs):
                for side in paired_order(run, paired):
                    if side == "direct":
                        speed = transfer(topology, DIRECT_SERVER, port, direction, upload_file, f"{name}-direct")
                        direct[direction] = max(direct[direction], speed)
                        continue
                    machine_before = machine_busy_seconds()
                    cpu_run = tree_cpu_seconds(pid) if pid else 0.0
                    figures[direction] = max(figures[direction], transfer(topology, host, port, direction, upload_file, name))
                    machine += machine_busy_seconds() - machine_before
                    cpu_transfers += (tree_cpu_seconds(pid) - cpu_run) if pid else 0.0
                for tag in (name, f"{name}-direct"):
                    (root / f"upload-{tag}.bin").unlink(missing_ok=True)
            figures[f"machine_per_gib_{direction}"] = machine / args.download_runs
        if pid:
            figures["cpu_per_gib"] = cpu_transfers / (2 * args.download_runs)
        cpu_sessions, done, direct_rates = 0.0, 0.0, []
        for run in range(args.session_runs):
            for side in paired_order(run, paired):
                if side == "direct":
                    direct_rates.append(sessions(topology, DIRECT_SERVER, port, args.session_seconds)[0])
                    continue
                cpu_run = tree_cpu_seconds(pid) if pid else 0.0
                rate, failed = sessions(topology, host, port, args.session_seconds)
                cpu_sessions += (tree_cpu_seconds(pid) - cpu_run) if pid else 0.0
                done += rate * args.session_seconds
                figures["failed"] += failed
        figures["sessions"] = done / (args.session_runs * args.session_seconds)
        if pid:
            figures["cpu_per_session_ms"] = cpu_sessions * 1000 / max(1.0, done)
        if paired:
            direct["sessions"] = sum(direct_rates) / len(direct_rates)
            figures["paired_direct"] = direct
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
            figures["rss_peak_mib"] = sampler.peak_kib / 1024
    return figures


RATIO_ROWS = (("1 GiB RETR, MB/s", "retr"), ("1 GiB STOR, MB/s", "stor"), ("sessions/s, 8 clients", "sessions"))
PLAIN_ROWS = (("balancer CPU s per GiB", "cpu_per_gib", "{:.2f}"),
              ("balancer CPU ms per session", "cpu_per_session_ms", "{:.2f}"),
              ("machine CPU s per GiB, RETR", "machine_per_gib_retr", "{:.2f}"),
              ("machine CPU s per GiB, STOR", "machine_per_gib_stor", "{:.2f}"),
              ("RSS idle, MiB", "rss_idle_mib", "{:.1f}"), ("RSS peak, MiB", "rss_peak_mib", "{:.1f}"))


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def round_ratios(rounds: list[dict[str, dict]], name: str, key: str) -> list[float]:
    """Each round's figure for `name` over the direct runs measured beside it."""
    return [r[name][key] / r[name]["paired_direct"][key] for r in rounds
            if name in r and r[name].get("paired_direct", {}).get(key)]


def print_tables(rounds: list[dict[str, dict]], names: list[str]) -> None:
    def column(name: str, key: str) -> list[float]:
        return [r[name][key] for r in rounds if name in r and key in r[name]]

    print()
    print(f"Medians of {len(rounds)} round(s); a ratio is the median of the rounds' ratios to the direct runs "
          "measured beside the target.")
    print()
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for label, key in RATIO_ROWS:
        cells = []
        for name in names:
            ratios = round_ratios(rounds, name, key) if name != "direct" else []
            ratio = f" ({median(ratios):.2f}x)" if ratios else ""
            cells.append(f"{median(column(name, key)):.0f}{ratio}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    for label, key, fmt in PLAIN_ROWS:
        cells = [fmt.format(median(column(name, key))) if column(name, key) else "-" for name in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    failed = [str(sum(int(v) for v in column(name, "failed"))) for name in names]
    print("| failed sessions, all rounds | " + " | ".join(failed) + " |")

    if len(rounds) < 2:
        return
    others = [name for name in names if name != "direct"]
    print()
    print("Ratios to direct, round by round:")
    print()
    print("| figure | " + " | ".join(others) + " |")
    print("|---|" + "---:|" * len(others))
    for label, key in RATIO_ROWS:
        cells = [" / ".join(f"{ratio:.2f}" for ratio in round_ratios(rounds, name, key)) for name in others]
        print(f"| {label} | " + " | ".join(cells) + " |")


def measure_target(topology: Topology, target: str, workdir: Path, binary: str, args: argparse.Namespace,
                   upload_file: Path, root: Path, started: list) -> dict:
    """Starts the target's balancer (none for direct), measures it and stops it."""
    process = None
    host = VIP
    if target == "direct":
        host = DIRECT_SERVER
    elif target in ("ftplb", "ftplb-copy"):
        process = start_ftplb(topology, workdir, binary, "copy" if target == "ftplb-copy" else None, args.pipe_size)
    elif target == "ftplb-baseline":
        process = start_ftplb(topology, workdir, args.baseline_ftplb, None, args.pipe_size)
    elif target.startswith("haproxy"):
        process = start_haproxy(topology, workdir, splice=target == "haproxy-splice")
    elif target == "splice-minimal":
        process = start_minimal_splice_relay(topology, workdir)
    else:
        process = start_mod_proxy(topology, workdir)
    if process:
        started.append(process)
    try:
        return measure(topology, target, host, 21, process, args, upload_file, root)
    finally:
        if process:
            process.stop()
            started.remove(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(DEFAULT_TARGETS),
                        help=f"comma-separated, of: {', '.join(ALL_TARGETS)}")
    parser.add_argument("--rounds", type=int, default=3, help="every target is measured once per round")
    parser.add_argument("--download-runs", type=int, default=2)
    parser.add_argument("--session-seconds", type=float, default=6.0)
    parser.add_argument("--session-runs", type=int, default=2,
                        help="session runs per target and round, each beside a direct one")
    parser.add_argument("--ftplb", help="the ftplb binary (default: the release build, built if missing)")
    parser.add_argument("--baseline-ftplb", help="the ftplb binary of the ftplb-baseline target")
    parser.add_argument("--pipe-size", help="ftplb's data_path.pipe_size (default: ftplb's own default)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--sessions-worker", nargs=3, metavar=("HOST", "PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sessions_worker:
        host, port, seconds = args.sessions_worker
        print(json.dumps(side_by_side.sessions_per_second(host, int(port), float(seconds))))
        return

    targets = list(dict.fromkeys(t for t in args.targets.split(",") if t))
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    unknown = set(targets) - set(ALL_TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    if "mod_proxy" in targets and not (PROFTPD / "usr/sbin/proftpd").exists():
        parser.error("mod_proxy needs ProFTPD unpacked: run bench/install-bench-deps.sh")
    if "ftplb-baseline" in targets and not (args.baseline_ftplb and Path(args.baseline_ftplb).exists()):
        parser.error("ftplb-baseline needs --baseline-ftplb PATH of an ftplb binary")
    if "splice-minimal" in targets and not c_compiler():
        parser.error("splice-minimal needs a C compiler (cc or clang)")
    binary = args.ftplb or str(REPO / ".build" / "release" / "ftplb")
    if any(t.startswith("ftplb") for t in targets) and not Path(binary).exists():
        subprocess.run(["swift", "build", "-c", "release", "--product", "ftplb"], cwd=REPO, check=True)

    topology = Topology()
    started: list = []
    rounds: list[dict[str, dict]] = []
    # The files live in memory: a 1 GiB STOR to a disk measures the disk's writeback, which
    # stalls vsftpd at random and dwarfs what the balancers differ by.
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="ftplb-compare-", dir=memory) as scratch:
        workdir = ftpenv.make_world_readable_dir(Path(scratch))
        try:
            topology.create()
            ftpenv.ensure_ftp_user()
            root = ftpenv.make_world_readable_dir(workdir / "root")
            shutil.chown(root, ftpenv.FTP_USER)  # STOR writes here as the FTP user
            ftpenv.make_random_file(root / "big.bin", GIB)
            (root / "1k.bin").write_bytes(os.urandom(1024))
            for name in ("big.bin", "1k.bin"):
                os.chmod(root / name, 0o644)
            upload_file = workdir / "upload.bin"
            os.link(root / "big.bin", upload_file)
            servers = [
                ftpenv.start_vsftpd(workdir, "vsftpd", "0.0.0.0", SERVER_PORT, SERVER_PASSIVE, root, tls=False,
                                    ns=topology.server),
                ftpenv.start_vsftpd(workdir, "vsftpd-haproxy", SERVER, HAPROXY_SERVER_PORT, HAPROXY_PASSIVE, root,
                                    tls=False, ns=topology.server, extra=[f"pasv_address={VIP}"]),
            ]
            started.extend(servers)
            for number in range(args.rounds):
                # Rotated, so that no target always runs first (or right after another one).
                order = targets[number % len(targets):] + targets[:number % len(targets)]
                results: dict[str, dict] = {}
                rounds.append(results)
                for target in order:
                    print(f"round {number + 1}/{args.rounds}: {target} ...", flush=True)
                    results[target] = measure_target(topology, target, workdir, binary, args, upload_file, root,
                                                     started)
        finally:
            for item in reversed(started):
                item.stop()
            topology.destroy()

    print_tables(rounds, targets)
    if args.json:
        Path(args.json).write_text(json.dumps(rounds, indent=2) + "\n")


if __name__ == "__main__":
    main()
