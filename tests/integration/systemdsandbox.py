"""systemd as PID 1 of namespaces of its own, for test_package_systemd.py: the package's unit run by the
real service manager, with the sandboxing it asks for, on a machine (or CI container) where
systemd is installed but does not run.

systemd gets new PID, mount, network, UTS, IPC and cgroup namespaces, a /run of its own and a
unit path that holds only the units a test gives it and empty stand-ins for the targets they
depend on (sysinit.target...), so it starts nothing else of this machine and nothing it does
reaches the host's network or /run. The cgroups it creates are removed when it is stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import ftpenv

# Targets and slices every service depends on by default: empty here, so that none of this
# machine's boot units (udev, sysctl, tmpfiles...) run.
STAND_INS = ("sysinit.target", "basic.target", "shutdown.target", "network.target",
             "network-online.target", "multi-user.target", "system.slice")
# What systemd creates at the root of its cgroup namespace.
CGROUPS = ("init.scope", "system.slice")


class SystemdSandbox:
    """One systemd with the given units, started by start() and ended by stop() (in a finally)."""

    def __init__(self, directory: Path, units: dict[str, str]):
        """`units`: file name under the unit path (such as ftplb.service.d/log.conf) to text."""
        self.directory = directory
        self.unit_path = directory / "units"
        self.units = units
        self.process: subprocess.Popen | None = None
        self._log = None
        self.private_before: set[Path] = set()
        self.pid: int | None = None  # systemd's pid, as this machine sees it

    def start(self, timeout: float = 60.0) -> "SystemdSandbox":
        taken = [root / name for root in cgroup_roots() for name in CGROUPS if (root / name).exists()]
        if taken:  # they would be removed at the end, and they are not ours
            raise RuntimeError(f"cgroups {taken} exist already: does another systemd run here?")
        self.private_before = set(private_directories([name for name in self.units if name.endswith(".service")]))
        for name in STAND_INS:
            self._write(name, f"[Unit]\nDescription=stand-in for {name}\n")
        wants = " ".join(name for name in self.units if "/" not in name)
        self._write("sandbox.target", f"[Unit]\nDescription=the units under test\nWants={wants}\n")
        for name, text in self.units.items():
            self._write(name, text)
        boot = (f"mount -t tmpfs tmpfs /run && exec env container=ftplb-test "
                f"SYSTEMD_UNIT_PATH={self.unit_path} /lib/systemd/systemd --system "
                "--unit=sandbox.target --log-target=console")
        self._log = open(self.directory / "systemd.log", "ab")
        self.process = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount", "--net", "--uts", "--ipc", "--cgroup",
             "--propagation", "private", "--mount-proc", "--", "sh", "-c", boot],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.pid = self._wait_for_child(timeout)
            self._wait_until_booted(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def inside(self, argv: list[str]) -> list[str]:
        """`argv` to run in systemd's network, mount and PID namespaces (its /proc and /run)."""
        assert self.pid is not None
        return ["nsenter", f"--target={self.pid}", "--net", "--mount", "--pid", "--", *argv]

    def run(self, argv: list[str], timeout: float = 60.0, check: bool = True) -> subprocess.CompletedProcess:
        return ftpenv.run(self.inside(argv), timeout=timeout, check=check)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        out = self.run(["systemctl", "show", unit, *(f"--property={name}" for name in properties)])
        return dict(line.split("=", 1) for line in out.stdout.decode().splitlines() if "=" in line)

    def log_text(self) -> str:
        path = self.directory / "systemd.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stops the units (so that systemd removes their PrivateTmp directories, which are in
        this machine's /tmp), ends every process of the PID namespace with systemd, then
        removes its cgroups and whatever private directories a unit left."""
        if self.process is None:
            return
        services = [name for name in self.units if name.endswith(".service")]
        if self.pid is not None and self.process.poll() is None:
            try:
                self.run(["systemctl", "stop", *services], check=False, timeout=120)
            except subprocess.TimeoutExpired:
                pass  # ended below all the same
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        self._log.close()
        for root in cgroup_roots():
            for name in CGROUPS:
                remove_cgroup(root / name)
        for directory in set(private_directories(services)) - self.private_before:
            shutil.rmtree(directory, ignore_errors=True)

    def _write(self, name: str, text: str) -> None:
        path = self.unit_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _wait_until_booted(self, timeout: float) -> None:
        """Until systemd answers (a moment after exec) and has started its units."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.1) + 1):
            state = self.run(["systemctl", "is-system-running", "--wait"], timeout=timeout, check=False)
            if state.stdout.strip() in (b"running", b"degraded"):
                return
            # Before systemd made /run/systemd/system and its socket, systemctl finds no manager.
            not_yet = b"Failed to connect" in state.stderr or state.stdout.strip() == b"offline"
            if not not_yet or time.monotonic() > deadline:
                raise RuntimeError(f"systemd did not boot: {state}\n{self.log_text()}")
            time.sleep(0.1)
        raise TimeoutError(f"systemd did not answer within {timeout}s:\n{self.log_text()}")

    def _wait_for_child(self, timeout: float) -> int:
        """The pid of unshare's child once it runs systemd."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd exited with {self.process.returncode}:\n{self.log_text()}")
            pids = children.read_text().split() if children.exists() else []
            if pids and Path(f"/proc/{pids[0]}/comm").read_text().strip() == "systemd":
                return int(pids[0])
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise TimeoutError(f"systemd did not start within {timeout}s:\n{self.log_text()}")


def cgroup_roots() -> list[Path]:
    """Where this process's cgroup is, in every mounted cgroup hierarchy: the root of the
    cgroup namespace that systemd was given."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        own[controllers] = path.lstrip("/")
    roots = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        kind = fields[fields.index("-") + 1]
        if kind == "cgroup2":
            roots.append(Path(fields[4], own.get("", "")))
        elif kind == "cgroup":
            options = set(fields[-1].split(","))
            for controllers, path in own.items():
                if controllers and set(controllers.split(",")) <= options:
                    roots.append(Path(fields[4], path))
    return roots


def private_directories(services: list[str]) -> list[Path]:
    """The PrivateTmp directories of these services, in /tmp and /var/tmp."""
    return [path for base in ("/tmp", "/var/tmp") for service in services
            for path in Path(base).glob(f"systemd-private-*-{service}-*")]


def remove_cgroup(path: Path, timeout: float = 10.0) -> None:
    """rmdir a cgroup and the cgroups below it, deepest first, retrying while the kernel still
    counts the killed processes in them (EBUSY)."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        if not path.is_dir():
            return
        for directory, _, _ in sorted(os.walk(path), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise RuntimeError(f"cgroup {path} of the systemd sandbox could not be removed")
