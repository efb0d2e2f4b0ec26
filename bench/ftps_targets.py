#!/usr/bin/python3
"""FTPS through ftplb against the alternatives, in one run, on loopback 127.0.123.x.

bench/compare.py's plain-FTP targets live in network namespaces; these FTPS ones need none (no
address is rewritten that a namespace would prove), so every process is on loopback:

    127.0.123.11:21  vsftpd, explicit FTPS, TLS required for login and data, data connections
                     resuming the control session (require_ssl_reuse); passive 53200-53259
    127.0.123.12:21  vsftpd, plain FTP (ftplb's servers); passive 53260-53299
    127.0.123.1:21   ftplb FTPS->FTP: `tls:` towards the clients, plain FTP to .12; 53300-53339
    127.0.123.2:21   the same ftplb process, a plain FTP service to .12 (PROT C's yardstick)
    127.0.123.4:21   the same ftplb process, FTPS->FTPS: `tls:` towards the clients and
                     `server_tls` (explicit, PROT P, resuming) to .11; passive 53400-53439
    127.0.123.3:21   ProFTPD mod_proxy, reverse proxy, FTPS (mod_tls) towards the clients and
                     FTPS (ProxyTLSEngine) to .11: FTPS->FTPS; passive 53360-53399

Targets: direct (vsftpd FTPS), ftplb (FTPS->FTP, PROT P), ftplb-ftps (FTPS->FTPS, PROT P on both
sides, the same strict vsftpd mod_proxy is in front of), ftplb-protc (the FTPS->FTP service under
PROT C: TLS on the control connection only), ftplb-plain (plain FTP through ftplb), mod_proxy
(FTPS->FTPS).
Figures: RETR and STOR of --size (curl, EPSV, --ssl-reqd: PROT P; --ftp-ssl-control for PROT C;
MB/s, best of --download-runs), sessions per second with 8 parallel clients (Python ftplib:
AUTH TLS, login, PBSZ 0, PROT P, EPSV, RETR 1 KiB over a data connection resuming the control
connection's TLS session, QUIT), the balancer's CPU seconds per GiB moved and CPU ms per session
(its process and its reaped children: mod_proxy forks a process per session). Each figure is
the median over --rounds rounds, targets in an order rotated from round to round; ratios are
printed against mod_proxy (the goal; ftplb-ftps / mod_proxy is like for like) and PROT C against
plain FTP through ftplb.
As root. A benchmark, not a test: nothing here passes or fails.

    sudo bench/ftps_targets.py [--targets direct,ftplb,ftplb-ftps,ftplb-protc,ftplb-plain,mod_proxy]
                               [--rounds 3] [--size 1GiB] [--download-runs 2]
                               [--session-seconds 6] [--ftplb PATH] [--keep-logs DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (CPU readings of a process tree, medians)
import ftpenv  # noqa: E402
import tlsclients  # noqa: E402  (FTPSClient: data connections resume the control session)
import tlsfixtures  # noqa: E402  (a CA and a server certificate)
import tlsservers  # noqa: E402  (vsftpd as a strict FTPS server)
import ftps_mod_proxy  # noqa: E402  (ProFTPD mod_proxy with TLS on both sides)

GIB = 1024 ** 3
VSFTPD_FTPS, VSFTPD_FTPS_PASSIVE = "127.0.123.11", (53200, 53259)
VSFTPD_PLAIN, VSFTPD_PLAIN_PASSIVE = "127.0.123.12", (53260, 53299)
FTPLB_FTPS, FTPLB_FTPS_PASSIVE = "127.0.123.1", (53300, 53339)
FTPLB_PLAIN, FTPLB_PLAIN_PASSIVE = "127.0.123.2", (53340, 53359)
MOD_PROXY, MOD_PROXY_PASSIVE = "127.0.123.3", (53360, 53399)
FTPLB_BOTH, FTPLB_BOTH_PASSIVE = "127.0.123.4", (53400, 53439)
ALL_HOSTS = (VSFTPD_FTPS, VSFTPD_PLAIN, FTPLB_FTPS, FTPLB_PLAIN, MOD_PROXY, FTPLB_BOTH)
# target: (host, data protection: "P", "C" under TLS, or None for plain FTP)
TARGETS = {"direct": (VSFTPD_FTPS, "P"), "ftplb": (FTPLB_FTPS, "P"), "ftplb-ftps": (FTPLB_BOTH, "P"),
           "ftplb-protc": (FTPLB_FTPS, "C"),
           "ftplb-plain": (FTPLB_PLAIN, None), "mod_proxy": (MOD_PROXY, "P")}


def parse_size(text: str) -> int:
    units = {"KiB": 1024, "MiB": 1024 ** 2, "GiB": GIB}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text[:-len(unit)]) * factor)
    return int(text)


def transfer(host: str, protection: str | None, direction: str, upload: Path, size: int, ca: Path) -> float:
    """MB/s of one RETR or STOR with curl in EPSV mode."""
    base = f"ftp://{ftpenv.FTP_USER}:{ftpenv.FTP_PASSWORD}@{host}:21"
    tls = {"P": ["--ssl-reqd"], "C": ["--ftp-ssl-control"], None: []}[protection]
    if protection:
        tls += ["--cacert", str(ca)]
    if direction == "retr":
        argv, key = ["-o", "/dev/null", f"{base}/big.bin"], "%{size_download}"
    else:
        argv, key = ["-T", str(upload), f"{base}/upload.bin"], "%{size_upload}"
    out = subprocess.run(["curl", "-s", "-S", *tls, *argv, "-w", f"{key} %{{time_total}}"],
                         capture_output=True, timeout=900)
    fields = out.stdout.decode().split()
    if out.returncode != 0 or len(fields) != 2 or int(float(fields[0])) != size:
        raise RuntimeError(f"{direction} via {host} failed: rc={out.returncode} {out.stdout!r} {out.stderr!r}")
    return size / float(fields[1]) / 1e6


def one_session(host: str, protection: str | None, ca: Path) -> None:
    """Login (over TLS unless plain), a 1 KiB RETR in EPSV mode, QUIT."""
    received = bytearray()
    if protection is None:
        ftp = ftpenv.FTPClient(mode="epsv", timeout=10)
        ftp.connect(host, 21)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
    else:
        ftp = tlsclients.open_ftps(host, 21, ca, mode="epsv", timeout=10)  # AUTH TLS, login, PROT P
        if protection == "C":
            ftp.prot_c()
    try:
        ftp.retrbinary("RETR 1k.bin", received.extend)
        ftp.quit()
    finally:
        ftp.close()
    if len(received) != 1024:
        raise RuntimeError(f"1k.bin via {host}: {len(received)} bytes")


def session_worker(host: str, protection: str | None, ca: Path, seconds: float, results) -> None:
    done = failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and failed <= 50:
        try:
            one_session(host, protection, ca)
            done += 1
        except Exception:
            failed += 1
    results.put((done, failed))


def sessions(host: str, protection: str | None, ca: Path, seconds: float, clients: int = 8) -> tuple[int, int, float]:
    """(done, failed, seconds) of `clients` processes running sessions for `seconds`."""
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=session_worker, args=(host, protection, ca, seconds, results))
               for _ in range(clients)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    totals = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    return sum(d for d, _ in totals), sum(f for _, f in totals), time.monotonic() - started


def start_ftplb(workdir: Path, binary: str, pki: tlsfixtures.PKI) -> ftpenv.ManagedProcess:
    def service(name: str, host: str, passive: tuple[int, int], tls: list[str], server: str = VSFTPD_PLAIN) -> list[str]:
        return [f"  - name: {name}", f"    listen: {host}:21", f"    passive_ports: {passive[0]}-{passive[1]}",
                *tls, "    health_check: {type: tcp}",
                "    limits: {max_sessions: 20000, max_sessions_per_client: 20000}",
                f"    servers: [{{name: vsftpd, address: '{server}:21'}}]"]

    tls = ["    tls:", "      mode: explicit", f"      certificate: {pki.server.chain}",
           f"      private_key: {pki.server.key}"]
    server_tls = ["    server_tls:", "      mode: explicit", f"      ca: {pki.ca_cert}"]
    config = workdir / "ftplb-ftps.yaml"
    config.write_text("\n".join(["log_level: warning", "virtual_services:",
                                 *service("ftps", FTPLB_FTPS, FTPLB_FTPS_PASSIVE, tls),
                                 *service("plain", FTPLB_PLAIN, FTPLB_PLAIN_PASSIVE, []),
                                 *service("ftps-to-ftps", FTPLB_BOTH, FTPLB_BOTH_PASSIVE, tls + server_tls,
                                          server=VSFTPD_FTPS)]) + "\n")
    process = ftpenv.ManagedProcess("ftplb", [binary, "run", "--config", str(config)], workdir / "ftplb.log")
    for host in (FTPLB_FTPS, FTPLB_PLAIN, FTPLB_BOTH):
        ftpenv.wait_for_tcp(host, 21, proc=process)
    return process


def measure(target: str, process: ftpenv.ManagedProcess | None, args, upload: Path, root: Path,
            ca: Path) -> dict:
    host, protection = TARGETS[target]
    pid = process.pid if process else None
    figures: dict = {}
    cpu = 0.0
    for direction in ("retr", "stor"):
        best = 0.0
        for _ in range(args.download_runs):
            before = compare.tree_cpu_seconds(pid) if pid else 0.0
            best = max(best, transfer(host, protection, direction, upload, args.size, ca))
            cpu += (compare.tree_cpu_seconds(pid) - before) if pid else 0.0
            (root / "upload.bin").unlink(missing_ok=True)
        figures[direction] = best
    if pid:
        figures["cpu_per_gib"] = cpu / (2 * args.download_runs * args.size / GIB)
    before = compare.tree_cpu_seconds(pid) if pid else 0.0
    done, failed, seconds = sessions(host, protection, ca, args.session_seconds)
    figures["sessions"], figures["failed"] = done / seconds, failed
    if pid:
        figures["cpu_per_session_ms"] = (compare.tree_cpu_seconds(pid) - before) * 1000 / max(1, done)
    return figures


ROWS = (("RETR, MB/s", "retr", "{:.0f}"), ("STOR, MB/s", "stor", "{:.0f}"),
        ("sessions/s, 8 clients, TLS login", "sessions", "{:.0f}"),
        ("balancer CPU s per GiB", "cpu_per_gib", "{:.2f}"),
        ("balancer CPU ms per session", "cpu_per_session_ms", "{:.2f}"))


def print_tables(rounds: list[dict], targets: list[str], size: int) -> None:
    def value(name: str, key: str) -> float | None:
        column = [r[name][key] for r in rounds if key in r.get(name, {})]
        return compare.median(column) if column else None

    print(f"\nMedians of {len(rounds)} round(s), transfers of {size / 2 ** 20:.0f} MiB "
          "(ftplb-plain's sessions log in without TLS)\n")
    print("| figure | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    for label, key, fmt in ROWS:
        cells = [fmt.format(v) if (v := value(name, key)) is not None else "-" for name in targets]
        print(f"| {label} | " + " | ".join(cells) + " |")
    failed = [str(sum(r[name]["failed"] for r in rounds if name in r)) for name in targets]
    print("| failed sessions, all rounds | " + " | ".join(failed) + " |")
    print()
    both, transfers = ("retr", "stor", "sessions"), ("retr", "stor")  # PROT C's sessions log in over TLS
    for name, baseline, keys in (("ftplb-ftps", "mod_proxy", both), ("ftplb", "mod_proxy", both),
                                 ("ftplb-protc", "ftplb-plain", transfers), ("ftplb", "direct", both),
                                 ("ftplb-ftps", "direct", both)):
        if name in targets and baseline in targets:
            ratios = [f"{key} {value(name, key) / value(baseline, key):.2f}x" for key in keys if value(baseline, key)]
            print(f"{name} / {baseline}: " + ", ".join(ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of: {', '.join(TARGETS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=GIB, help="the transfers' size, as 1GiB or 256MiB")
    parser.add_argument("--download-runs", type=int, default=2)
    parser.add_argument("--session-seconds", type=float, default=6.0)
    parser.add_argument("--ftplb", help="the ftplb binary (default: .build-release/release/ftplb)")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the servers' and balancers' logs here at the end")
    args = parser.parse_args()
    targets = list(dict.fromkeys(t for t in args.targets.split(",") if t))
    if unknown := set(targets) - set(TARGETS):
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if "mod_proxy" in targets and not ftps_mod_proxy.available():
        parser.error("mod_proxy needs ProFTPD with mod_proxy unpacked: run bench/install-bench-deps.sh")
    binary = args.ftplb or str(REPO / ".build-release" / "release" / "ftplb")
    if any(t.startswith("ftplb") for t in targets) and not Path(binary).exists():
        parser.error(f"no ftplb at {binary}: swift build -c release --product ftplb --scratch-path .build-release")

    started: list = []
    rounds: list[dict] = []
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None  # a disk's writeback would dominate STOR
    with tempfile.TemporaryDirectory(prefix="ftplb-ftps-bench-", dir=memory) as scratch:
        workdir = ftpenv.make_world_readable_dir(Path(scratch))
        try:
            ftpenv.ensure_ftp_user()
            pki = tlsfixtures.make_test_pki(workdir / "pki", tlsfixtures.PKI_NAMES, ALL_HOSTS)
            root = ftpenv.make_world_readable_dir(workdir / "root")
            shutil.chown(root, ftpenv.FTP_USER)  # STOR writes here as the FTP user
            ftpenv.make_random_file(root / "big.bin", args.size)
            (root / "1k.bin").write_bytes(os.urandom(1024))
            for name in ("big.bin", "1k.bin"):
                os.chmod(root / name, 0o644)
            upload = workdir / "upload-source.bin"
            os.link(root / "big.bin", upload)
            started.append(ftpenv.start_vsftpd(workdir, "vsftpd-ftps", VSFTPD_FTPS, 21, VSFTPD_FTPS_PASSIVE, root,
                                               tls=False, extra=tlsservers.vsftpd_tls_settings(pki)))
            started.append(ftpenv.start_vsftpd(workdir, "vsftpd-plain", VSFTPD_PLAIN, 21, VSFTPD_PLAIN_PASSIVE,
                                               root, tls=False))
            processes: dict = {}
            if any(t.startswith("ftplb") for t in targets):
                processes["ftplb"] = start_ftplb(workdir, binary, pki)
            if "mod_proxy" in targets:
                processes["mod_proxy"] = ftps_mod_proxy.start(workdir, pki, MOD_PROXY, MOD_PROXY_PASSIVE,
                                                              VSFTPD_FTPS)
            started.extend(processes.values())
            for number in range(args.rounds):
                order = targets[number % len(targets):] + targets[:number % len(targets)]
                results: dict = {}
                rounds.append(results)
                for target in order:
                    print(f"round {number + 1}/{args.rounds}: {target} ...", flush=True)
                    process = processes.get("ftplb" if target.startswith("ftplb") else target)
                    results[target] = measure(target, process, args, upload, root, pki.ca_cert)
        finally:
            for item in reversed(started):
                item.stop()
            if args.keep_logs:
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                for log in workdir.glob("*.log"):
                    shutil.copy(log, args.keep_logs)
    print_tables(rounds, targets, args.size)


if __name__ == "__main__":
    main()
