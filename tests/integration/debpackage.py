"""Library for test_package.py and test_package_systemd.py: build the Debian package, install
it for a module, run dpkg, and run a command the way the package's systemd unit would (its
user, capabilities and descriptor limit) without systemd.
"""

from __future__ import annotations

import contextlib
import grp
import pwd
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

import ftpenv

BUILD_SCRIPT = ftpenv.REPO / "packaging" / "build-deb.sh"
UNIT = Path("/usr/lib/systemd/system/ftplb.service")
CONFIG = Path("/etc/ftplb/ftplb.yaml")
LOG_DIR = Path("/var/log/ftplb")
TRANSFER_LOG = LOG_DIR / "transfer.log"
DROP_IN_DIR = Path("/etc/systemd/system/ftplb.service.d")
PACKAGE = "ftplb"
# The test's virtual service and its server (see test_package.py's address plan).
VIP = "127.0.90.1"
SERVER = ("127.0.90.11", 21)
# What the unit's environment holds: systemd passes no inherited variables but PATH.
UNIT_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


_built: dict[Path, Path] = {}


def build(output: Path, timeout: float = 1800.0) -> Path:
    """packaging/build-deb.sh into `output`, once per run; the .deb it made (its last line)."""
    if output not in _built:
        result = ftpenv.run(["bash", str(BUILD_SCRIPT), str(output)], timeout=timeout)
        deb = Path(result.stdout.decode().strip().splitlines()[-1])
        assert deb.is_file() and deb.parent == output, result.stdout
        _built[output] = deb
    return _built[output]


@contextlib.contextmanager
def installed(deb: Path):
    """The package installed with dpkg -i, and purged at the end whatever happened. Refuses
    to touch an ftplb package that was there before."""
    status = package_status()
    if status:
        raise RuntimeError(f"an ftplb package is on this machine already ({status}); these tests "
                           "install and purge their own: remove it first (dpkg --purge ftplb)")
    try:
        dpkg("-i", str(deb))
        yield deb
    finally:
        shutil.rmtree(DROP_IN_DIR, ignore_errors=True)
        if package_status():
            dpkg("--purge", PACKAGE)


def dpkg(*args: str, attempts: int = 60) -> subprocess.CompletedProcess:
    """dpkg with `args`, waiting (bounded) while another dpkg or apt holds the lock."""
    for attempt in range(attempts):
        result = ftpenv.run(["dpkg", *args], timeout=300, check=False,
                            env={**UNIT_ENVIRONMENT, "DEBIAN_FRONTEND": "noninteractive"})
        locked = b"lock" in result.stderr and result.returncode == 2
        if not locked or attempt == attempts - 1:
            break
        time.sleep(2)
    if result.returncode != 0:
        raise RuntimeError(f"dpkg {' '.join(args)} exited {result.returncode}\n"
                           f"{result.stdout.decode()}{result.stderr.decode()}")
    return result


def package_status() -> str:
    """dpkg's status of the package ("install ok installed", "deinstall ok config-files"),
    or "" when nothing of it is on the machine (unknown to dpkg, or purged)."""
    result = ftpenv.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False)
    status = result.stdout.decode().strip() if result.returncode == 0 else ""
    return "" if status.endswith("not-installed") else status


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def systemd_helper_state() -> list[Path]:
    """deb-systemd-helper's record of the unit's [Install] links (postinst update-state)."""
    return list(Path("/var/lib/systemd").glob("deb-systemd-helper-*/**/ftplb.service*"))


def unit_settings(path: Path = UNIT) -> dict[str, list[str]]:
    """The [Service] section of a unit file: each key with its values in order."""
    settings: dict[str, list[str]] = {}
    section = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def as_unit(settings: dict[str, list[str]], command: str) -> list[str]:
    """argv that runs `command` (a line of the unit, without systemd's prefixes) with the
    unit's descriptor limit, user, group, supplementary groups, capabilities and
    no_new_privs, the way systemd starts it."""
    (user,) = settings["User"]
    (group,) = settings["Group"]
    nofile = descriptor_limit(settings)
    ambient = capability_names(settings["AmbientCapabilities"])
    bounding = capability_names(settings["CapabilityBoundingSet"])
    caps = ",".join(f"+{name}" for name in ambient)
    argv = ["prlimit", f"--nofile={nofile}:{nofile}", "--",
            "setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups",
            f"--inh-caps={caps}", f"--ambient-caps={caps}",
            "--bounding-set=-all," + ",".join(f"+{name}" for name in bounding)]
    if settings.get("NoNewPrivileges") == ["yes"]:
        argv.append("--no-new-privs")
    return argv + ["--"] + command.split()


def descriptor_limit(settings: dict[str, list[str]]) -> int:
    """The unit's LimitNOFILE, or this process's hard limit if that is lower: raising it needs
    CAP_SYS_RESOURCE, which a container may not grant even to root (systemd as PID 1 can)."""
    (nofile,) = settings["LimitNOFILE"]
    return min(int(nofile), resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def capability_names(values: list[str]) -> list[str]:
    """`CAP_NET_BIND_SERVICE CAP_NET_ADMIN` lines as setpriv names them (net_bind_service)."""
    return [word.removeprefix("CAP_").lower() for value in values for word in value.split()]


def process_status(pid: int) -> dict[str, str]:
    """/proc/PID/status as a dict (Uid, Gid, CapEff, NoNewPrivs...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def open_files_limit(pid: int) -> tuple[int, int]:
    """The soft and hard descriptor limits of a process, from /proc/PID/limits."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = re.findall(r"\d+", line)[:2]
            return int(soft), int(hard)
    raise AssertionError(f"no 'Max open files' in /proc/{pid}/limits")


def wait_for(predicate, what: str, timeout: float = 15.0):
    """The predicate's first true value, polled every 0.1 s for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.1) + 1):
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def log_lines(path: Path) -> list[str]:
    """The lines of a log file, none while it does not exist."""
    return path.read_text().splitlines() if path.exists() else []


def session_config() -> str:
    """The tests' /etc/ftplb/ftplb.yaml: the VIP on port 21 (and active data from port 20, so
    CAP_NET_BIND_SERVICE is needed twice) in front of one pyftpdlib, the transfer log on."""
    return "\n".join([
        "log_level: info",
        f"admin: {{listen: '{VIP}:9021'}}",
        f"transfer_log: {{path: {TRANSFER_LOG}}}",
        "virtual_services:",
        "  - name: package",
        f"    listen: {VIP}:21",
        "    passive_ports: 47000-47099",
        "    active_source_port: 20",
        "    health_check: {type: none}",
        f"    servers: ['{SERVER[0]}:{SERVER[1]}']",
    ]) + "\n"
