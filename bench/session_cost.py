#!/usr/bin/python3
"""What one FTP session costs a balancer: CPU milliseconds and system calls per session.

The topology, vsftpd and the balancers are bench/compare.py's (three network namespaces, the
balancer's not routing); only the session load runs, a fixed number of sessions each time, so
that the figures divide by a count and not by a rate. A session is bench/run.py's: connect,
login, TYPE I, EPSV, RETR of 1 KiB, QUIT, 8 clients in parallel. Per target and round:

  CPU ms per session    the balancer's user+system time over the sessions (its threads, as
                        compare.py's sessions target measures it)
  context switches      of every thread of the balancer, per session, over the same sessions
  syscalls per session  `perf stat -e raw_syscalls:sys_enter` over every thread of the balancer
                        (with --syscalls; a separate batch, since counting slows it a little)
  mallocs per session   with --syscalls, a uprobe on the balancer's libc malloc counted the same
                        way (perf probe; removed at the end), in a batch of its own

Targets are measured in each of --rounds rounds in rotated order, and the table gives medians
with the ratio to HAProxy's medians. --perf-record DIR also records a `perf record -g` profile
of each target's first batch into DIR/<target>.data (with --call-graph dwarf unless
--call-graph says otherwise), for `perf report --no-children --sort symbol`. As root. A benchmark,
not a test: nothing here passes or fails.

    sudo bench/session_cost.py [--targets ftplb,haproxy] [--sessions 2000] [--rounds 3]
                               [--syscalls] [--strace DIR] [--perf-record DIR] [--ftplb PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the topology, the targets and the CPU readings)
import run as side_by_side  # noqa: E402  (one session)

ftpenv = compare.ftpenv
TARGETS = ("ftplb", "ftplb-baseline", "haproxy", "haproxy-splice", "splice-minimal")


def worker(host: str, port: int, count: int, results) -> None:
    done = failed = 0
    while done + failed < count and failed <= 50:
        try:
            side_by_side.one_session(host, port)
            done += 1
        except Exception:
            failed += 1
    results.put((done, failed))


def run_sessions(host: str, port: int, count: int, clients: int = 8) -> tuple[int, int, float]:
    """`count` sessions over `clients` processes: (done, failed, seconds)."""
    results = multiprocessing.Queue()
    shares = [count // clients + (1 if n < count % clients else 0) for n in range(clients)]
    workers = [multiprocessing.Process(target=worker, args=(host, port, share, results)) for share in shares]
    started = time.monotonic()
    for process in workers:
        process.start()
    totals = [results.get(timeout=600) for _ in workers]
    for process in workers:
        process.join(timeout=10)
    return sum(d for d, _ in totals), sum(f for _, f in totals), time.monotonic() - started


def client_batch(topology: compare.Topology, count: int) -> tuple[int, int, float]:
    """A batch of sessions from the client namespace, to the VIP."""
    out = topology.run_in(topology.client, [ftpenv.SYSTEM_PYTHON, __file__, "--worker", compare.VIP, "21",
                                            str(count)], timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    done, failed, seconds = json.loads(out.stdout)
    return done, failed, seconds


def with_recorder(argv: list[str], batch) -> tuple[tuple[int, int, float], str]:
    """Runs `batch` while `argv` (perf or strace, attached to the balancer) records; its stderr."""
    recorder = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # attached before the first session
    try:
        result = batch()
    finally:
        recorder.send_signal(signal.SIGINT)
        try:
            _, err = recorder.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            recorder.kill()
            _, err = recorder.communicate()
    return result, err.decode(errors="replace")


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of every thread of the process so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                    total += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def event_count(perf_stat_output: str, event: str) -> int:
    for line in perf_stat_output.splitlines():
        if event in line:
            return int(line.split()[0].replace(",", ""))
    raise RuntimeError(f"no {event} count in perf stat output:\n{perf_stat_output}")


def libc_path(pid: int) -> str | None:
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if "/libc.so" in line or "/libc-" in line:
            return line.split()[-1]
    return None


def malloc_probe(pid: int) -> str | None:
    """A uprobe on the process's libc malloc (perf probe), its event name; None if it cannot be
    made (a statically linked libc, no uprobes). Removed at the end of the run."""
    libc = libc_path(pid)
    if not libc:
        return None
    event = "probe_libc:ftplbbench_malloc"
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout
    if event in listed:
        return event
    out = subprocess.run(["perf", "probe", "-q", "-x", libc, "--add", "ftplbbench_malloc=malloc"],
                         capture_output=True, text=True)
    return event if out.returncode == 0 else None




def start_target(topology, target: str, workdir: Path, args) -> ftpenv.ManagedProcess:
    if target == "ftplb":
        return compare.start_ftplb(topology, workdir, args.ftplb, None)
    if target == "ftplb-baseline":
        return compare.start_ftplb(topology, workdir, args.baseline_ftplb, None)
    if target.startswith("haproxy"):
        return compare.start_haproxy(topology, workdir, splice=target == "haproxy-splice")
    return compare.start_minimal_splice_relay(topology, workdir)


def measure(topology, target: str, workdir: Path, args, first: bool) -> dict:
    process = start_target(topology, target, workdir, args)
    pid = process.pid
    figures: dict = {}
    try:
        client_batch(topology, 200)  # warm: first-use allocations, page faults
        if first and args.perf_record:
            data = Path(args.perf_record) / f"{target}.data"
            argv = ["perf", "record", "-F", str(args.frequency), "-g", "-p", str(pid), "-o", str(data)]
            if args.call_graph != "fp":
                argv[4:5] = ["--call-graph", args.call_graph]
            (done, _, _), _ = with_recorder(argv, lambda: client_batch(topology, args.sessions))
            figures["perf_sessions"] = done
        if args.strace and first:
            (done, _, _), err = with_recorder(["strace", "-f", "-c", "-p", str(pid)],
                                              lambda: client_batch(topology, args.sessions))
            (Path(args.strace) / f"{target}.strace").write_text(f"{done} sessions\n{err}")
        before, switches = compare.tree_cpu_seconds(pid), context_switches(pid)
        done, failed, seconds = client_batch(topology, args.sessions)
        figures["cpu_ms"] = (compare.tree_cpu_seconds(pid) - before) * 1000 / max(1, done)
        figures["switches"] = (context_switches(pid) - switches) / max(1, done)
        figures["rate"] = done / seconds
        figures["failed"] = failed
        if args.syscalls:
            argv = ["perf", "stat", "-e", "raw_syscalls:sys_enter", "-p", str(pid)]
            (done, failed, _), err = with_recorder(argv, lambda: client_batch(topology, args.sessions))
            figures["syscalls"] = event_count(err, "raw_syscalls:sys_enter") / max(1, done)
            figures["failed"] += failed
            probe = malloc_probe(pid)
            if probe:
                argv = ["perf", "stat", "-e", probe, "-p", str(pid)]
                (done, failed, _), err = with_recorder(argv, lambda: client_batch(topology, args.sessions))
                figures["mallocs"] = event_count(err, probe) / max(1, done)
                figures["failed"] += failed
    finally:
        process.stop()
    return figures


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def print_table(rounds: list[dict], targets: list[str]) -> None:
    def column(name: str, key: str) -> list[float]:
        return [r[name][key] for r in rounds if key in r.get(name, {})]

    reference = "haproxy" if "haproxy" in targets else None
    print()
    print(f"Medians of {len(rounds)} round(s)" + (f"; (x) is the ratio to {reference}'s median." if reference else "."))
    print()
    print("| figure | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    for label, key, fmt in (("balancer CPU ms per session", "cpu_ms", "{:.3f}"),
                            ("syscalls per session", "syscalls", "{:.1f}"),
                            ("context switches per session", "switches", "{:.1f}"),
                            ("mallocs per session", "mallocs", "{:.0f}"),
                            ("sessions/s, 8 clients", "rate", "{:.0f}")):
        cells = []
        for name in targets:
            values = column(name, key)
            if not values:
                cells.append("-")
                continue
            cell = fmt.format(median(values))
            ref = column(reference, key) if reference else []
            if ref and median(ref) > 0 and name != reference and key not in ("rate", "mallocs"):
                cell += f" ({median(values) / median(ref):.2f}x)"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("| failed sessions | " + " | ".join(str(int(sum(column(n, "failed")))) for n in targets) + " |\n")
    for name in targets:  # with the ratio to the reference measured in the same round
        cells = [f"{r[name]['cpu_ms']:.3f}" + (f" ({r[name]['cpu_ms'] / r[reference]['cpu_ms']:.2f}x)" if reference and name != reference else "") for r in rounds if "cpu_ms" in r.get(name, {})]
        print(f"{name} CPU ms per session, by round: " + " / ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default="ftplb,haproxy", help=f"comma-separated, of: {', '.join(TARGETS)}")
    parser.add_argument("--sessions", type=int, default=2000, help="sessions per measured batch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--syscalls", action="store_true", help="count syscalls per session (perf stat)")
    parser.add_argument("--strace", metavar="DIR", help="also write `strace -c -f` of a batch per target into DIR")
    parser.add_argument("--perf-record", metavar="DIR", help="record a perf profile of each target into DIR")
    parser.add_argument("--call-graph", default="dwarf", help="perf's call graph: dwarf (default), fp, lbr")
    parser.add_argument("--frequency", type=int, default=2000, help="perf record's samples per second")
    parser.add_argument("--ftplb", default=str(compare.REPO / ".build" / "release" / "ftplb"))
    parser.add_argument("--baseline-ftplb", help="the ftplb binary of the ftplb-baseline target")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", nargs=3, metavar=("HOST", "PORT", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        host, port, count = args.worker
        print(json.dumps(run_sessions(host, int(port), int(count))))
        return
    targets = list(dict.fromkeys(t for t in args.targets.split(",") if t))
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    for target, binary in (("ftplb", args.ftplb), ("ftplb-baseline", args.baseline_ftplb)):
        if target in targets and not (binary and Path(binary).exists()):
            parser.error(f"{target} needs an ftplb binary: --ftplb / --baseline-ftplb PATH, or a release build")
    if (args.syscalls or args.perf_record) and not shutil.which("perf"):
        parser.error("--syscalls and --perf-record need perf")
    for directory in filter(None, (args.perf_record, args.strace)):
        Path(directory).mkdir(parents=True, exist_ok=True)

    topology = compare.Topology()
    started: list = []
    rounds: list[dict] = []
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="ftplb-session-cost-", dir=memory) as scratch:
        workdir = ftpenv.make_world_readable_dir(Path(scratch))
        try:
            topology.create()
            ftpenv.ensure_ftp_user()
            root = ftpenv.make_world_readable_dir(workdir / "root")
            (root / "1k.bin").write_bytes(os.urandom(1024))
            os.chmod(root / "1k.bin", 0o644)
            started.append(ftpenv.start_vsftpd(workdir, "vsftpd", "0.0.0.0", compare.SERVER_PORT,
                                               compare.SERVER_PASSIVE, root, tls=False, ns=topology.server))
            started.append(ftpenv.start_vsftpd(workdir, "vsftpd-haproxy", compare.SERVER, compare.HAPROXY_SERVER_PORT,
                                               compare.HAPROXY_PASSIVE, root, tls=False, ns=topology.server,
                                               extra=[f"pasv_address={compare.VIP}"]))
            for number in range(args.rounds):
                order = targets[number % len(targets):] + targets[:number % len(targets)]
                results: dict = {}
                rounds.append(results)
                for target in order:
                    print(f"round {number + 1}/{args.rounds}: {target} ...", flush=True)
                    results[target] = measure(topology, target, workdir, args, first=number == 0)
        finally:
            for item in reversed(started):
                item.stop()
            topology.destroy()
            if args.syscalls:
                subprocess.run(["perf", "probe", "-q", "--del", "probe_libc:ftplbbench_malloc"], capture_output=True)
    print_table(rounds, targets)
    if args.json:
        Path(args.json).write_text(json.dumps(rounds, indent=2) + "\n")


if __name__ == "__main__":
    main()
