"""Fixtures for the ftplb integration suite: real servers, real clients, one ftplb per setup.

Two targets (option --ftplb-target or env FTPLB_TARGET):
- balancer (default): clients talk to ftplb, which talks to the servers;
- direct: clients talk to the servers themselves. This validates servers, clients and
  tests while ftplb does not exist yet; tests marked `balancer_only` are skipped.

Address plan (all on loopback, 127.0.0.0/8 is local on Linux without any setup):
    127.0.0.1            the client
    127.0.30.5           a second, foreign client address
    127.0.10.N:21        ftplb virtual services (one per balancer setup), advertised as is
    127.0.20.1           ftplb's source address towards the servers
    127.0.20.11:21       vsftpd (offers AUTH TLS with a self-signed certificate)
    127.0.20.12:21       pyftpdlib
    127.0.20.13:21       pyftpdlib announcing 127.0.20.99 in its 227 replies
    127.0.20.19:21       nothing: a server that refuses connections
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import pytest

import checks
import ftpenv

CLIENT_IP = "127.0.0.1"
FOREIGN_CLIENT_IP = "127.0.30.5"
BALANCER_SOURCE = "127.0.20.1"
SERVER_NET_PREFIX = "127.0.20."
DOWN_SERVER = "127.0.20.19:21"
MASQUERADE_ADDRESS = "127.0.20.99"


@dataclasses.dataclass(frozen=True)
class ServerPlan:
    name: str
    kind: str
    host: str
    port: int
    passive_ports: tuple[int, int]
    masquerade: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


SERVER_PLANS = {
    "vsftpd": ServerPlan("vsftpd", "vsftpd", "127.0.20.11", 21, (41000, 41099)),
    "pyftpdlib": ServerPlan("pyftpdlib", "pyftpdlib", "127.0.20.12", 21, (41100, 41199)),
    "masquerade": ServerPlan("masquerade", "pyftpdlib", "127.0.20.13", 21, (41200, 41299),
                             masquerade=MASQUERADE_ADDRESS),
}
# The servers every client/mode test runs against.
MAIN_SERVERS = ("vsftpd", "pyftpdlib")


def pytest_addoption(parser):
    parser.addoption(
        "--ftplb-target", choices=("balancer", "direct"),
        default=os.environ.get("FTPLB_TARGET", "balancer"),
        help="balancer: through ftplb (default); direct: straight to the servers",
    )


@pytest.hookimpl(tryfirst=True)  # before fixtures are set up: they may need ftplb
def pytest_runtest_setup(item):
    marker = item.get_closest_marker("balancer_only")
    if marker and item.config.getoption("--ftplb-target") == "direct":
        pytest.skip(marker.kwargs.get("reason", "only meaningful through ftplb (direct mode)"))


@pytest.fixture(autouse=True)
def _watchdog(request):
    """Fail a test that runs too long instead of hanging the suite (no pytest-timeout here).

    Every wait in ftpenv is bounded already; this is the net under the net.
    """
    marker = request.node.get_closest_marker("timeout")
    seconds = marker.args[0] if marker else 300
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"test exceeded its {seconds}s watchdog")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------------------
# Session-wide environment


@pytest.fixture(scope="session")
def target_mode(pytestconfig) -> str:
    return pytestconfig.getoption("--ftplb-target")


@pytest.fixture(scope="session")
def direct(target_mode) -> bool:
    return target_mode == "direct"


@pytest.fixture(scope="session")
def workdir(request) -> Path:
    """One directory for configs, logs, server roots and test data.

    Under /tmp with mode 0755 because vsftpd's sessions run as `ftptest` and must reach
    their root. Kept after a failing run (or with FTPLB_IT_KEEP=1) for the logs.
    """
    path = Path(tempfile.mkdtemp(prefix="ftplb-it-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    if request.session.testsfailed or os.environ.get("FTPLB_IT_KEEP"):
        print(f"\nftplb integration: logs and data kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def ftp_user() -> str:
    ftpenv.ensure_ftp_user()
    return ftpenv.FTP_USER


@dataclasses.dataclass(frozen=True)
class BigFile:
    path: Path
    size: int
    sha256: str


@pytest.fixture(scope="session")
def big_file(workdir) -> BigFile:
    """The file every transfer test moves: made once, hard-linked into every server root.

    FTPLB_IT_BIG_MIB shrinks it for quick local iterations (default 64).
    """
    size = int(os.environ.get("FTPLB_IT_BIG_MIB", "64")) * ftpenv.MIB
    data = ftpenv.make_world_readable_dir(workdir / "data")
    path = data / "big.bin"
    sha = ftpenv.make_random_file(path, size)
    path.chmod(0o644)
    return BigFile(path, size, sha)


class ServerPool:
    """Starts each planned server on first use and stops them all at the end."""

    def __init__(self, workdir: Path, big_file: BigFile):
        self.workdir = workdir
        self.big_file = big_file
        self.running: dict[str, ftpenv.FTPServer] = {}

    def get(self, name: str) -> ftpenv.FTPServer:
        if name not in self.running:
            plan = SERVER_PLANS[name]
            root = self.workdir / f"root-{name}"
            ftpenv.populate_root(root, name, self.big_file.path)
            if plan.kind == "vsftpd":
                server = ftpenv.start_vsftpd(self.workdir, name, plan.host, plan.port,
                                             plan.passive_ports, root, tls=True)
            else:
                server = ftpenv.start_pyftpdlib(self.workdir, name, plan.host, plan.port,
                                                plan.passive_ports, root, masquerade=plan.masquerade)
            self.running[name] = server
        server = self.running[name]
        assert server.process.alive(), f"{name} died:\n{server.process.log_tail()}"
        return server

    def stop_all(self) -> None:
        for server in self.running.values():
            server.stop()


@pytest.fixture(scope="session")
def servers(workdir, big_file, ftp_user) -> ServerPool:
    pool = ServerPool(workdir, big_file)
    yield pool
    pool.stop_all()


class BalancerPool:
    """One ftplb per distinct setup, each on its own VIP and passive range.

    Setups are keyed by name so tests that share a setup share the process.
    """

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.running: dict[str, ftpenv.Balancer] = {}

    def get(self, key: str, servers: list[str], timeouts: dict | None = None) -> ftpenv.Balancer:
        if key not in self.running:
            index = len(self.running) + 1
            assert index < 100, "too many balancer setups"
            vip = f"127.0.10.{index}"
            first = 40000 + 100 * (index - 1)
            self.running[key] = ftpenv.start_ftplb(
                self.workdir, f"ftplb-{key}", vip, 21, advertise=vip,
                passive_ports=(first, first + 99), source_address=BALANCER_SOURCE,
                servers=servers, timeouts=timeouts)
        balancer = self.running[key]
        assert balancer.process.alive(), f"ftplb {key} died:\n{balancer.process.log_tail()}"
        return balancer

    def all(self) -> list[ftpenv.Balancer]:
        return list(self.running.values())

    def stop_all(self) -> None:
        for balancer in self.running.values():
            balancer.stop()


@pytest.fixture(scope="session")
def balancers(workdir) -> BalancerPool:
    pool = BalancerPool(workdir)
    yield pool
    pool.stop_all()


# --------------------------------------------------------------------------------------
# What a test talks to


@dataclasses.dataclass
class Target:
    """Where a client connects, and what it should see there."""

    host: str
    port: int
    servers: list[ftpenv.FTPServer]
    balancer: ftpenv.Balancer | None

    @property
    def via_balancer(self) -> bool:
        return self.balancer is not None

    @property
    def server(self) -> ftpenv.FTPServer:
        assert len(self.servers) == 1
        return self.servers[0]

    @property
    def passive_host(self) -> str:
        """The address a 227 reply must name."""
        return self.balancer.advertise if self.balancer else self.server.host

    def expected_active_peer(self) -> tuple[str, int | None]:
        """Who opens active data connections to the client: the VIP from port 20, or
        the server itself (vsftpd from port 20, pyftpdlib from any port)."""
        if self.balancer:
            return self.balancer.advertise, 20
        return self.server.host, (20 if self.server.kind == "vsftpd" else None)

    @property
    def passive_ports(self) -> tuple[int, int]:
        return self.balancer.passive_ports if self.balancer else self.server.passive_ports

    def forbidden_addresses(self) -> list[str]:
        """Addresses a client must never see in a reply through the balancer."""
        return [server.host for server in self.servers] + [
            server.masquerade for server in self.servers if server.masquerade]

    def check_replies(self, lines: list[str]) -> None:
        """What every client run must have seen: passive replies naming the advertised
        address and a port of the passive range, and (through ftplb) no server address."""
        checks.assert_passive_replies(lines, self.passive_host, self.passive_ports)
        if self.balancer:
            checks.assert_no_addresses(lines, self.forbidden_addresses())

    def check_alive(self) -> None:
        for server in self.servers:
            assert server.process.alive(), f"{server.name} died:\n{server.process.log_tail()}"
        if self.balancer:
            assert self.balancer.process.alive(), \
                f"ftplb died:\n{self.balancer.process.log_tail()}"


def make_target(direct: bool, balancers: BalancerPool, servers: list[ftpenv.FTPServer],
                key: str, timeouts: dict | None = None) -> Target:
    if direct:
        assert len(servers) == 1, "direct mode can only point at one server"
        return Target(servers[0].host, servers[0].port, servers, None)
    balancer = balancers.get(key, [s.address for s in servers], timeouts)
    return Target(balancer.host, balancer.port, servers, balancer)


@pytest.fixture(scope="session", params=MAIN_SERVERS)
def server(request, servers) -> ftpenv.FTPServer:
    return servers.get(request.param)


@pytest.fixture
def target(server, direct, balancers) -> Target:
    """The single-server setup for `server`, checked for crashes after the test."""
    target = make_target(direct, balancers, [server], key=f"single-{server.name}")
    yield target
    target.check_alive()


@pytest.fixture
def scratch(workdir, request) -> Path:
    """A per-test client-side directory, removed afterwards (64 MiB files add up)."""
    path = Path(tempfile.mkdtemp(prefix="t-", dir=ftpenv.make_world_readable_dir(workdir / "client")))
    yield path
    shutil.rmtree(path, ignore_errors=True)
