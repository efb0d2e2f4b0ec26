"""Library for test_package.py: build the Debian package, run dpkg, and run a command the way
the package's systemd unit would (its user, capabilities and descriptor limit), without systemd.
"""

from __future__ import annotations

import grp
import pwd
import re
import resource
import subprocess
import time
from pathlib import Path

import ftpenv

BUILD_SCRIPT = ftpenv.REPO / "packaging" / "build-deb.sh"
UNIT = Path("/usr/lib/systemd/system/ftplb.service")
PACKAGE = "ftplb"
# What the unit's environment holds: systemd passes no inherited variables but PATH.
UNIT_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def build(output: Path, timeout: float = 1800.0) -> Path:
    """packaging/build-deb.sh into `output`; the .deb it made (its last line of output)."""
    result = ftpenv.run(["bash", str(BUILD_SCRIPT), str(output)], timeout=timeout)
    deb = Path(result.stdout.decode().strip().splitlines()[-1])
    assert deb.is_file() and deb.parent == output, result.stdout
    return deb


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
