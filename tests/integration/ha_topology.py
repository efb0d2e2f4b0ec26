"""Network namespaces for the high-availability tests (test_ha_node.py, test_ha_pair.py,
test_ecmp.py): named ftplbha<pid>-<tag>-<short>, with addresses from 10.78.0.0/16 and
10.79.0.0/16 only, so that they never meet the rest of the suite's ftplbit<pid>-... and
10.77.x.y. Every process started in them is tracked and stopped, also when a test fails;
the namespaces go last, and a crashed run's leftovers are removed by the next.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

import ftpenv

PREFIX = "ftplbha"
HA_CLIENT = str(ftpenv.HERE / "ha_client.py")
KEEPALIVED = "/usr/sbin/keepalived"


def netns_names() -> list[str]:
    listing = ftpenv.run(["ip", "netns", "list"], timeout=10).stdout.decode()
    return [line.split()[0] for line in listing.splitlines() if line.split()]


def netns_pids(ns: str) -> list[str]:
    return ftpenv.run(["ip", "netns", "pids", ns], timeout=10, check=False).stdout.decode().split()


def delete_namespace(name: str) -> None:
    # Processes left in a namespace keep it alive; they were started by these tests.
    for pid in netns_pids(name):
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    ftpenv.run(["ip", "netns", "del", name], timeout=10, check=False)


def remove_stale() -> None:
    """Delete namespaces of earlier runs whose creating process is gone."""
    for name in netns_names():
        match = re.fullmatch(rf"{PREFIX}(\d+)-[\w-]+", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            delete_namespace(name)


class Lab:
    """Namespaces and the processes in them. `add` makes a namespace with lo up."""

    def __init__(self, tag: str, workdir: Path) -> None:
        assert re.fullmatch(r"[a-z0-9]+", tag), tag
        self.stem = f"{PREFIX}{os.getpid()}-{tag}"
        self.workdir = workdir
        self.created: list[str] = []
        self.processes: list[ftpenv.ManagedProcess] = []

    def ns(self, short: str) -> str:
        return f"{self.stem}-{short}"

    def add(self, short: str) -> str:
        name = self.ns(short)
        ftpenv.run(["ip", "netns", "add", name], timeout=10)
        self.created.append(name)
        self.ip(name, "link", "set", "lo", "up")
        return name

    def ip(self, ns: str | None, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return ftpenv.run(ftpenv.ns_prefix(ns) + ["ip", *args], timeout=10, check=check)

    def sysctl(self, ns: str, *settings: str) -> None:
        for setting in settings:
            ftpenv.run(ftpenv.ns_prefix(ns) + ["sysctl", "-q", "-w", setting], timeout=10)

    def veth(self, ns_a: str, name_a: str, ns_b: str, name_b: str) -> None:
        self.ip(None, "link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
        self.ip(ns_a, "link", "set", name_a, "up")
        self.ip(ns_b, "link", "set", name_b, "up")

    def bridge(self, ns: str, name: str) -> None:
        self.ip(ns, "link", "add", name, "type", "bridge")
        self.ip(ns, "link", "set", name, "up")

    def run_in(self, ns: str, argv: Sequence[str], timeout: float = 60.0, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(ftpenv.ns_prefix(ns) + list(argv), capture_output=True, timeout=timeout, **kwargs)

    def start(self, name: str, ns: str, argv: Sequence[str], group: bool = False) -> ftpenv.ManagedProcess:
        process = ftpenv.ManagedProcess(name, ftpenv.ns_prefix(ns) + list(argv),
                                        self.workdir / f"{name}.log", group=group)
        self.processes.append(process)
        return process

    def track(self, process: ftpenv.ManagedProcess) -> ftpenv.ManagedProcess:
        self.processes.append(process)
        return process

    def destroy(self) -> list[str]:
        """Stops what is still running, removes the namespaces; returns the names of
        processes that a test left running (the caller asserts there are none)."""
        left = [p.name for p in self.processes if p.alive()]
        for process in reversed(self.processes):
            if process.alive():
                process.stop()
        for ns in reversed(self.created):
            delete_namespace(ns)
        remaining = [ns for ns in netns_names() if ns in self.created]
        assert not remaining, f"namespaces left behind: {remaining}"
        return left

    # Clients and probes, run inside a namespace

    def client(self, ns: str, *args: str, timeout: float = 120.0) -> dict | list:
        """One ha_client.py command in `ns`; its JSON answer."""
        result = self.run_in(ns, [ftpenv.SYSTEM_PYTHON, HA_CLIENT, *args], timeout=timeout)
        assert result.returncode == 0, f"ha_client {args[:3]} failed:\n{result.stderr.decode()[-3000:]}"
        return json.loads(result.stdout)

    def http(self, ns: str, url: str, timeout: float = 2.0, token: str | None = None) -> tuple[int, str]:
        """(status, body) of a GET from `ns`; status 0 when nothing answered."""
        auth = ["-H", f"Authorization: Bearer {token}"] if token else []
        result = self.run_in(ns, ["curl", "-s", "-m", str(timeout), *auth, "-o", "-", "-w", "\n%{http_code}", url],
                             timeout=timeout + 5)
        body, _, code = result.stdout.decode().rpartition("\n")
        return int(code or 0), body


class Probe:
    """ha_client.py probe in the client namespace: new sessions one after another."""

    def __init__(self, ns: str, host: str, source: str | None = None) -> None:
        argv = [ftpenv.SYSTEM_PYTHON, HA_CLIENT, "probe", "--host", host, "--timeout", "1"]
        self.process = subprocess.Popen(ftpenv.ns_prefix(ns) + argv + (["--source", source] if source else []),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def first_success_after(self, moment: float, limit: float = 30.0) -> dict:
        """The first session started at or after `moment` that succeeded."""
        deadline = time.monotonic() + limit
        for _ in range(100_000):
            line = self.process.stdout.readline()
            assert line, "the probe ended"
            attempt = json.loads(line)
            if attempt["start"] >= moment and attempt["ok"]:
                return attempt
            assert time.monotonic() < deadline, f"no session succeeded within {limit}s: {attempt}"
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def wait_until(what: str, condition, timeout: float = 20.0, interval: float = 0.1):
    """Polls `condition` until it returns something true; bounded in time and tries."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout}s")


def ftplb_service(name: str, vip: str, passive: tuple[int, int], servers: Sequence[str],
                  client_address: str = "none", source: str | None = None, freebind: bool = True) -> dict:
    return {
        "name": name, "listen": f"{vip}:21", "passive_ports": passive, "source_address": source,
        "client_address": client_address, "listen_freebind": freebind,
        "health_check": {"type": "ftp", "interval": "500ms", "timeout": "400ms", "rise": 1, "fall": 2},
        "servers": [f"{server}:21" for server in servers],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }


def start_ftplb(lab: Lab, name: str, ns: str, services: list[dict], relay: str = "splice",
                admin: str = "127.0.0.1:9021", token: str | None = None) -> ftpenv.ManagedProcess:
    """ftplb in `ns`, its admin API on that namespace's own loopback unless told; waits for
    /healthz 200."""
    section = {"listen": admin, **({"token": token} if token else {})}
    text = ftpenv.ftplb_pools_yaml(services, shutdown_grace="2s", admin=section)
    text += "\n".join(["data_path:", f"  relay: {relay}"]) + "\n"
    config = lab.workdir / f"{name}.yaml"
    config.write_text(text)
    process = lab.start(name, ns, [str(ftpenv.ftplb_binary()), "run", "--config", str(config)])

    def ready():
        assert process.alive(), f"{name} exited:\n{process.log_tail()}"
        return lab.http(ns, f"http://{admin}/healthz")[0] == 200

    wait_until(f"{name} /healthz 200", ready)
    return process


def metric(lab: Lab, ns: str, name: str, admin: str = "127.0.0.1:9021", token: str | None = None) -> float:
    """The sum of a metric's series from /metrics in `ns`."""
    status, body = lab.http(ns, f"http://{admin}/metrics", timeout=5, token=token)
    assert status == 200, body
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total
