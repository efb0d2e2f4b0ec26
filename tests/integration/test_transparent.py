"""client_address: transparent: the servers see the client's own address on every connection.

    client ns 10.77.1.2 --veth-- balancer ns 10.77.1.1, VIP 10.77.1.10 (ftplb on VIP:21)
                                 balancer ns 10.77.2.1 (bridge) --veth-- server1 ns 10.77.2.11 vsftpd
                                                                --veth-- server2 ns 10.77.2.12 pure-ftpd

ftplb opens its upstream control and passive-data connections from the client's address
(IP_TRANSPARENT). In PORT/EPRT it forwards the client's command unchanged, catches the
server's connection from server:20 to client:P with a transparent listener and opens its
own from VIP:20 to the client. The balancer namespace needs policy routing and an nft
table for that (`ftplb setup-transparent`), and forwards all other traffic between the
client and the servers unchanged (it is their gateway).

Both servers check that PORT addresses and passive data connections belong to the control
connection's peer, and both log the client's address: vsftpd in its protocol log (CONNECT,
LOGIN, commands, transfers), pure-ftpd in its transfer log (CLF). Health checks (type ftp,
no login) come from the balancer's own address 10.77.2.1; a logged-in session never does.

Two sections:
- test_baseline_*: the topology, both servers, clients, routed traffic and the contract's
  setup commands applied by hand, without ftplb (they validate the tests themselves);
- the rest needs an ftplb with client_address: transparent (FTPLB_BIN).

Namespaces are NetnsTopology's with the tag "tp" (ftplbit<pid>-tp-c ...), so they never
collide with test_netns.py's; the teardown checks that nothing is left running in them and
that they are gone. Ports: vsftpd passive 48000-48099, pure-ftpd 48100-48199, ftplb
48200-48299 (inside these namespaces only).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import checks
import ftpenv
from ftpenv import NetnsTopology

pytestmark = pytest.mark.balancer_only(
    reason="client_address: transparent is a balancer feature; direct mode has no balancer")

TAG = "tp"
VIP = NetnsTopology.VIP
CLIENT_IP = NetnsTopology.CLIENT_IP
LB_SERVER_SIDE = NetnsTopology.BALANCER_SERVER_SIDE
S1, S2 = NetnsTopology.SERVER_IPS
VSFTPD, PUREFTPD = "tp-vsftpd", "tp-pureftpd"
VSFTPD_PASSIVE = (48000, 48099)
PUREFTPD_PASSIVE = (48100, 48199)
LB_PASSIVE = (48200, 48299)
ECHO_PORTS = (2222, 22)  # plain TCP services on server1, reached through the routing
FTP_CLIENT = str(ftpenv.HERE / "ftp_client.py")

FWMARK, ROUTE_TABLE = 1, 100
# The host setup of the contract, for fwmark 0x1 and table 100, as `setup-transparent` prints it.
SETUP_COMMANDS = [
    "ip rule add fwmark 0x1 lookup 100",
    "ip route replace local 0.0.0.0/0 dev lo table 100",
    "nft add table inet ftplb",
    "nft flush table inet ftplb",
    "nft add chain inet ftplb prerouting '{ type filter hook prerouting priority mangle; policy accept; }'",
    "nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 socket wildcard 1 accept",
    "nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 meta mark set 0x1",
    "sysctl -w net.ipv4.ip_forward=1",
]
IP_RULE, IP_ROUTE = SETUP_COMMANDS[0], SETUP_COMMANDS[1]
NFT_MARK_RULE = SETUP_COMMANDS[6]


# --------------------------------------------------------------------------------------
# The lab: namespaces, servers, and a record of every process started in them


@dataclasses.dataclass
class Lab:
    topology: NetnsTopology
    processes: list[ftpenv.ManagedProcess] = dataclasses.field(default_factory=list)

    @property
    def balancer_ns(self) -> str:
        return self.topology.balancer

    def track(self, process: ftpenv.ManagedProcess) -> ftpenv.ManagedProcess:
        self.processes.append(process)
        return process

    def in_client(self, argv, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return self.topology.run_in(self.topology.client, argv, timeout=timeout)


def netns_pids(ns: str) -> list[str]:
    return ftpenv.run(["ip", "netns", "pids", ns], timeout=10, check=False).stdout.decode().split()


def netns_names() -> list[str]:
    listing = ftpenv.run(["ip", "netns", "list"], timeout=10).stdout.decode()
    return [line.split()[0] for line in listing.splitlines() if line.split()]


@pytest.fixture(scope="module")
def lab():
    """The topology; on the way out, checks that every process started in it has ended
    and that its namespaces are gone (the leftovers are removed either way)."""
    NetnsTopology.remove_stale()
    lab = Lab(NetnsTopology(tag=TAG))
    try:
        lab.topology.create()
        yield lab
    finally:
        left_running = {ns: netns_pids(ns) for ns in lab.topology.created if netns_pids(ns)}
        still_alive = [p.name for p in lab.processes if p.alive()]
        for process in lab.processes:
            if process.alive():
                process.stop()
        lab.topology.destroy()
        remaining = [ns for ns in netns_names() if ns in lab.topology.namespaces]
    assert not still_alive, f"processes not stopped by their fixtures: {still_alive}"
    assert not left_running, f"processes left in the namespaces: {left_running}"
    assert not remaining, f"namespaces left behind: {remaining}"


@pytest.fixture(scope="module")
def tp_servers(lab, workdir, big_file, ftp_user) -> dict[str, ftpenv.FTPServer]:
    """vsftpd on server1, pure-ftpd on server2, each with its own root."""
    started: list[ftpenv.FTPServer] = []
    try:
        for name, ns, address, passive in ((VSFTPD, lab.topology.servers[0], S1, VSFTPD_PASSIVE),
                                           (PUREFTPD, lab.topology.servers[1], S2, PUREFTPD_PASSIVE)):
            root = workdir / f"root-{name}"
            ftpenv.populate_root(root, name, big_file.path)
            if name == VSFTPD:
                server = ftpenv.start_vsftpd(workdir, name, address, 21, passive, root, tls=False, ns=ns)
            else:
                server = ftpenv.start_pureftpd(workdir, name, address, 21, passive, root, ns=ns)
            lab.track(server.process)
            started.append(server)
        yield {server.name: server for server in started}
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def echo_servers(lab, workdir) -> list[ftpenv.ManagedProcess]:
    started: list[ftpenv.ManagedProcess] = []
    try:
        for port in ECHO_PORTS:
            started.append(lab.track(ftpenv.start_tcp_echo(
                workdir, f"tp-echo-{port}", S1, port, ns=lab.topology.servers[0])))
        yield started
    finally:
        for process in started:
            process.stop()


def check_servers_alive(servers: dict[str, ftpenv.FTPServer]) -> None:
    for server in servers.values():
        assert server.process.alive(), f"{server.name} died:\n{server.process.log_tail()}"


# --------------------------------------------------------------------------------------
# Clients


def ftp_session(lab: Lab, host: str, mode: str, retrieve: str, store: tuple[Path, str] | None = None,
                timeout: float = 180, tls_ca: Path | None = None) -> dict:
    """One ftplib session from the client namespace (see ftp_client.py), FTPS with `tls_ca`;
    its JSON report."""
    argv = [ftpenv.SYSTEM_PYTHON, FTP_CLIENT, "--host", host, "--mode", mode, "--retrieve", retrieve]
    if store:
        argv += ["--store", str(store[0]), store[1]]
    if tls_ca:
        argv += ["--tls-ca", str(tls_ca)]
    result = lab.in_client(argv, timeout=timeout)
    assert result.returncode == 0, f"{mode} session to {host} failed:\n{result.stderr.decode()[-3000:]}"
    return json.loads(result.stdout)


ECHO_CLIENT = r"""
import json, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
payload = bytes(range(256)) * 400
with socket.create_connection((host, port), timeout=10) as conn:
    reader = conn.makefile("rb")
    greeting = reader.readline(200).decode().strip()
    conn.sendall(payload)
    conn.shutdown(socket.SHUT_WR)
    echoed = reader.read(len(payload) + 1)
    print(json.dumps({"greeting": greeting, "local": list(conn.getsockname()),
                      "echoed": echoed == payload, "echoed_bytes": len(echoed)}))
"""


def check_routed_paths(lab: Lab, servers: dict[str, ftpenv.FTPServer]) -> None:
    """Traffic that is not for the VIP crosses the balancer namespace untouched: plain TCP
    to server1's other ports (the server sees the client's own address and port), and
    FTP straight to each server, passive and active (data from server:20 to the client)."""
    for port in ECHO_PORTS:
        result = lab.in_client([ftpenv.SYSTEM_PYTHON, "-c", ECHO_CLIENT, S1, str(port)], timeout=30)
        assert result.returncode == 0, f"{S1}:{port}: {result.stderr.decode()[-2000:]}"
        report = json.loads(result.stdout)
        local_ip, local_port = report["local"]
        assert local_ip == CLIENT_IP, report
        assert report["greeting"] == f"peer {CLIENT_IP}:{local_port}", report
        assert report["echoed"], report
    for server in servers.values():
        for mode in ("pasv", "port"):
            report = ftp_session(lab, server.host, mode, "small.txt", timeout=60)
            assert report["server_id"] == server.name
            for host, port in report["data_peers"]:
                assert host == server.host, report["data_peers"]
                if mode == "port":
                    assert port == server.active_source_port, report["data_peers"]


# --------------------------------------------------------------------------------------
# What the servers logged


@dataclasses.dataclass
class Transfer:
    client: str
    direction: str  # "get" or "put"
    name: str  # the file's base name


VSFTPD_TRANSFER = re.compile(r'OK (DOWNLOAD|UPLOAD): Client "([^"]+)", "(?:[^"]*/)?([^"/]+)"')
PUREFTPD_TRANSFER = re.compile(r'^(\S+) - \S+ \[[^\]]*\] "(GET|PUT) (?:\S*/)?([^"/ ]+)" 200 \d+$', re.M)


def logged_transfers(server: ftpenv.FTPServer, text: str) -> list[Transfer]:
    """Transfers in a piece of the server's client log, with the client address it names.

    vsftpd:    ... [pid 7] [ftptest] OK UPLOAD: Client "10.77.1.2", "/tp-up.bin", 1048576 bytes, ...
    pure-ftpd: 10.77.1.2 - ftptest [21/Nov/2026:18:50:07 -0000] "PUT /home/ftptest/tp-up.bin" 200 1048576
    """
    if server.kind == "vsftpd":
        return [Transfer(m.group(2), "get" if m.group(1) == "DOWNLOAD" else "put", m.group(3))
                for m in VSFTPD_TRANSFER.finditer(text)]
    assert server.kind == "pure-ftpd", server.kind
    return [Transfer(m.group(1), m.group(2).lower(), m.group(3)) for m in PUREFTPD_TRANSFER.finditer(text)]


def sessions_naming_others(server: ftpenv.FTPServer, text: str, client: str) -> list[str]:
    """Log lines of logged-in sessions that name another address than `client`.

    vsftpd tags every line after the login with [ftptest]; the balancer's health checks
    (CONNECT, QUIT, no login) are the only other sessions and may name its address.
    pure-ftpd's transfer log has logged-in sessions only.
    """
    if server.kind == "vsftpd":
        lines = [line for line in text.splitlines() if f"[{ftpenv.FTP_USER}]" in line]
        return [line for line in lines if f'Client "{client}"' not in line]
    return [line for line in text.splitlines() if line.strip() and not line.startswith(f"{client} ")]


def wait_for_transfers(server: ftpenv.FTPServer, offset: int, wanted: list[tuple[str, str]],
                       timeout: float = 10.0) -> list[Transfer]:
    """Wait until the client log (from `offset` on) has a transfer of each (direction, name)."""
    deadline = time.monotonic() + timeout
    transfers: list[Transfer] = []
    for _ in range(int(timeout / 0.1) + 1):
        transfers = logged_transfers(server, server.client_log_text(offset))
        if all(any((t.direction, t.name) == item for t in transfers) for item in wanted):
            return transfers
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError(f"{server.name} did not log {wanted}; it logged {transfers}:\n"
                         f"{server.client_log_text(offset)[-3000:]}")


def check_server_logs(server: ftpenv.FTPServer, offset: int, uploaded: list[str], downloaded: str) -> None:
    """The server's own log names the client for these sessions' transfers, and no line of
    a logged-in session names anything else (the balancer's 10.77.2.1 in particular)."""
    wanted = [("put", name) for name in uploaded] + [("get", downloaded)]
    transfers = wait_for_transfers(server, offset, wanted)
    mine = [t for t in transfers if (t.direction, t.name) in wanted]
    assert {t.client for t in mine} == {CLIENT_IP}, \
        f"{server.name} logged these transfers from another address than {CLIENT_IP}: {mine}"
    text = server.client_log_text(offset)
    foreign = sessions_naming_others(server, text, CLIENT_IP)
    assert not foreign, f"{server.name} logged sessions from another address:\n" + "\n".join(foreign[:20])
    if server.kind == "vsftpd":
        assert f'OK LOGIN: Client "{CLIENT_IP}"' in text, text[-3000:]
        assert f'OK LOGIN: Client "{LB_SERVER_SIDE}"' not in text, text[-3000:]
    else:
        assert LB_SERVER_SIDE not in text, text[-3000:]


# --------------------------------------------------------------------------------------
# The host setup in the balancer namespace


def command_lines(output: str) -> list[str]:
    """The commands `setup-transparent` printed: no blank or comment lines, spaces squeezed."""
    return [" ".join(line.split()) for line in output.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@dataclasses.dataclass
class SetupState:
    fwmark_rules: list[str]  # `ip rule show` lines with a fwmark
    local_routes: list[str]  # `ip route show table 100`
    nft_table: str  # `nft list table inet ftplb`, "" without the table
    ip_forward: str


def setup_state(ns: str, route_table: int = ROUTE_TABLE) -> SetupState:
    def sh(*argv: str) -> subprocess.CompletedProcess:
        return ftpenv.run(ftpenv.ns_prefix(ns) + list(argv), timeout=10, check=False)

    rules = sh("ip", "rule", "show").stdout.decode().splitlines()
    routes = sh("ip", "route", "show", "table", str(route_table)).stdout.decode().splitlines()
    table = sh("nft", "list", "table", "inet", "ftplb")
    forward = sh("sysctl", "-n", "net.ipv4.ip_forward").stdout.decode().strip()
    return SetupState([line.strip() for line in rules if "fwmark" in line],
                      [line.strip() for line in routes if line.strip()],
                      table.stdout.decode() if table.returncode == 0 else "", forward)


def assert_setup_present(ns: str) -> None:
    """What the contract's commands leave behind, each piece exactly once, as the tools
    print it (`ip rule` shows the mark as given, nft as 0x00000001)."""
    state = setup_state(ns)
    assert len(state.fwmark_rules) == 1, state
    assert re.fullmatch(r"\d+:\s+from all fwmark 0x1 lookup 100", state.fwmark_rules[0]), state
    assert state.local_routes == ["local default dev lo scope host"], state
    rules = [" ".join(line.split()) for line in state.nft_table.splitlines()]
    assert rules.count("type filter hook prerouting priority mangle; policy accept;") == 1, state.nft_table
    wildcard = "meta l4proto tcp socket transparent 1 socket wildcard 1 accept"
    mark = "meta l4proto tcp socket transparent 1 meta mark set 0x00000001"
    assert rules.count(wildcard) == 1 and rules.count(mark) == 1, state.nft_table
    assert rules.index(wildcard) < rules.index(mark), "the wildcard guard must come first:\n" + state.nft_table
    assert state.ip_forward == "1", state


def assert_setup_absent(ns: str) -> None:
    state = setup_state(ns)
    assert not state.fwmark_rules and not state.local_routes and not state.nft_table, state


def clear_setup(ns: str) -> None:
    """Remove the setup from the namespace (ip_forward stays: the topology needs it)."""
    for _ in range(10):  # `ip rule add` run twice leaves two rules
        if ftpenv.run(ftpenv.ns_prefix(ns) + ["ip", "rule", "del", "fwmark", "0x1", "lookup", "100"],
                      timeout=10, check=False).returncode != 0:
            break
    ftpenv.run(ftpenv.ns_prefix(ns) + ["ip", "route", "flush", "table", "100"], timeout=10, check=False)
    ftpenv.run(ftpenv.ns_prefix(ns) + ["nft", "delete", "table", "inet", "ftplb"], timeout=10, check=False)


def run_by_hand(ns: str, commands: list[str]) -> None:
    for command in commands:
        ftpenv.run(ftpenv.ns_prefix(ns) + ["sh", "-c", command], timeout=10)


# --------------------------------------------------------------------------------------
# Baseline: no ftplb


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_baseline_routed_sessions_to_each_server(lab, tp_servers, big_file, scratch, mode):
    """Straight to each server through the balancer namespace's routing: logins, RETR and
    STOR in every mode work, data connections come from the server (port 20 in active
    mode), and each server's own log names the client 10.77.1.2."""
    upload = scratch / "upload.bin"
    upload_sha = ftpenv.make_random_file(upload, ftpenv.MIB)
    for server in tp_servers.values():
        offset = server.client_log_size()
        remote = f"tp-direct-{mode}-{uuid.uuid4().hex[:8]}.bin"
        report = ftp_session(lab, server.host, mode, "big.bin", (upload, remote))
        stored = server.root / remote
        try:
            assert report["server_id"] == server.name
            assert report["retrieved_sha256"] == big_file.sha256
            assert ftpenv.sha256_file(stored) == upload_sha
            for host, port in report["data_peers"]:
                assert host == server.host, report["data_peers"]
                if mode in ftpenv.ACTIVE_MODES:
                    assert port == 20, report["data_peers"]
            check_server_logs(server, offset, [remote], "big.bin")
        finally:
            stored.unlink(missing_ok=True)
    check_servers_alive(tp_servers)


def test_baseline_routed_tcp_and_ftp(lab, tp_servers, echo_servers):
    check_routed_paths(lab, tp_servers)


def test_baseline_contract_commands_by_hand(lab):
    """The contract's commands, run by hand in the balancer namespace, give exactly what
    assert_setup_present() expects; running `ip rule add` again doubles the rule, which it
    catches (so an --apply that is not idempotent cannot pass)."""
    ns = lab.balancer_ns
    clear_setup(ns)
    assert_setup_absent(ns)
    try:
        run_by_hand(ns, SETUP_COMMANDS)
        assert_setup_present(ns)
        run_by_hand(ns, [IP_RULE])
        with pytest.raises(AssertionError):
            assert_setup_present(ns)
    finally:
        clear_setup(ns)
    assert_setup_absent(ns)


# --------------------------------------------------------------------------------------
# Through ftplb with client_address: transparent


def ftplb_argv(ns: str | None, *args: str) -> list[str]:
    return ftpenv.ns_prefix(ns) + [str(ftpenv.ftplb_binary()), *args]


def require_ftplb() -> None:
    if not ftpenv.ftplb_binary().exists():
        pytest.fail(f"ftplb binary not found at {ftpenv.ftplb_binary()}: build it or set FTPLB_BIN")


QUICK_FLAGS = ["--listen", f"{VIP}:21", "--server", f"{S1}:21", "--server", f"{S2}:21",
               "--passive-ports", f"{LB_PASSIVE[0]}-{LB_PASSIVE[1]}", "--advertise", VIP,
               "--client-address", "transparent"]


def transparent_yaml(transparent: dict | None = None, tls: dict | None = None) -> str:
    service = {
        "name": "transparent",
        "listen": f"{VIP}:21",
        "advertise": VIP,
        "passive_ports": LB_PASSIVE,
        "client_address": "transparent",
        "algorithm": "round_robin",
        # From the balancer's own address, without a login: see check_server_logs.
        "health_check": {"type": "ftp", "interval": "1s", "timeout": "800ms", "rise": 1, "fall": 2},
        "timeouts": {**ftpenv.TEST_TIMEOUTS, "passive_accept": "10s", "active_connect": "10s"},
        "servers": [{"name": VSFTPD, "address": f"{S1}:21"}, {"name": PUREFTPD, "address": f"{S2}:21"}],
    }
    if tls:
        service["tls"] = tls
    return ftpenv.ftplb_pools_yaml([service], transparent=transparent)


@pytest.fixture(scope="module")
def transparent_config(workdir) -> Path:
    path = workdir / "tp-ftplb.yaml"
    path.write_text(transparent_yaml({"fwmark": FWMARK, "route_table": ROUTE_TABLE}))
    return path


def setup_transparent(args: list[str], ns: str | None, timeout: float = 60) -> subprocess.CompletedProcess:
    require_ftplb()
    return ftpenv.run(ftplb_argv(ns, "setup-transparent", *args), timeout=timeout, check=False)


def describe(result: subprocess.CompletedProcess) -> str:
    return (f"exit {result.returncode}\nstdout:\n{result.stdout.decode('utf-8', 'replace')[-4000:]}\n"
            f"stderr:\n{result.stderr.decode('utf-8', 'replace')[-4000:]}")


def run_expecting_exit(lab: Lab, config: Path, timeout: float = 20) -> subprocess.CompletedProcess:
    """`ftplb run` that must give up at start-up; killed (and failed) if it keeps running."""
    require_ftplb()
    argv = ftplb_argv(lab.balancer_ns, "run", "--config", str(config))
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:  # subprocess.run has killed it
        pytest.fail(f"ftplb run kept running for {timeout}s without the transparent setup:\n"
                    f"{(expired.stdout or b'').decode()[-2000:]}{(expired.stderr or b'').decode()[-2000:]}")


def test_run_refuses_to_start_without_the_host_setup(lab, tp_servers, transparent_config):
    """Nothing in place: ftplb exits 1 and names each missing command verbatim. With the
    routing in place but no nft table it still refuses, naming the nft piece."""
    ns = lab.balancer_ns
    clear_setup(ns)
    result = run_expecting_exit(lab, transparent_config)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 1, describe(result)
    for command in (IP_RULE, IP_ROUTE, NFT_MARK_RULE):
        assert command in output, f"{command!r} not named:\n{describe(result)}"
    assert not ftpenv.is_listening(VIP, 21, ns)

    try:
        run_by_hand(ns, [IP_RULE, IP_ROUTE])
        result = run_expecting_exit(lab, transparent_config)
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        assert result.returncode == 1, describe(result)
        assert NFT_MARK_RULE in output, describe(result)
    finally:
        clear_setup(ns)


def test_setup_transparent_prints_the_commands(lab, transparent_config):
    """From the file and from the quick flags: the contract's commands, one per line, the
    nft pieces in an order that works (the wildcard guard before the marking rule), and
    printing alone changes nothing."""
    ns = lab.balancer_ns
    clear_setup(ns)
    for args in (["--config", str(transparent_config)], QUICK_FLAGS):
        result = setup_transparent(args, ns)
        assert result.returncode == 0, describe(result)
        printed = command_lines(result.stdout.decode())
        for command in SETUP_COMMANDS:
            assert command in printed, f"{command!r} missing ({' '.join(args[:2])}):\n{describe(result)}"
        for line in printed:
            assert line.split()[0] in ("ip", "nft", "sysctl"), f"not a command: {line!r}"
        nft_order = [printed.index(command) for command in SETUP_COMMANDS[2:7]]
        assert nft_order == sorted(nft_order), printed
    assert_setup_absent(ns)


def test_setup_transparent_follows_the_transparent_section(lab, workdir):
    """fwmark and route_table of the top-level `transparent` section reach the commands."""
    path = workdir / "tp-ftplb-mark2.yaml"
    path.write_text(transparent_yaml({"fwmark": 2, "route_table": 102}))
    result = setup_transparent(["--config", str(path)], lab.balancer_ns)
    assert result.returncode == 0, describe(result)
    printed = command_lines(result.stdout.decode())
    for command in ("ip rule add fwmark 0x2 lookup 102",
                    "ip route replace local 0.0.0.0/0 dev lo table 102",
                    "nft add rule inet ftplb prerouting meta l4proto tcp socket transparent 1 meta mark set 0x2"):
        assert command in printed, describe(result)


def test_setup_transparent_apply_is_idempotent(lab, transparent_config):
    """--apply in the balancer namespace puts every piece in place, exits 0, and a second
    run leaves exactly one of each."""
    ns = lab.balancer_ns
    clear_setup(ns)
    for attempt in (1, 2):
        result = setup_transparent(["--config", str(transparent_config), "--apply"], ns)
        assert result.returncode == 0, f"attempt {attempt}: {describe(result)}"
        assert_setup_present(ns)


@pytest.fixture(scope="module")
def transparent_balancer(lab, tp_servers, transparent_config, workdir) -> ftpenv.ManagedProcess:
    """ftplb in the balancer namespace on VIP:21 after `setup-transparent --apply`."""
    ns = lab.balancer_ns
    result = setup_transparent(["--config", str(transparent_config), "--apply"], ns)
    assert result.returncode == 0, describe(result)
    process = lab.track(ftpenv.start_ftplb_file(workdir, "tp-ftplb", transparent_config, [(VIP, 21)], ns=ns))
    try:
        yield process
    finally:
        process.stop()


def check_balancer_alive(process: ftpenv.ManagedProcess) -> None:
    assert process.alive(), f"ftplb died:\n{process.log_tail()}"


def sessions_through_the_vip(lab: Lab, tp_servers: dict[str, ftpenv.FTPServer], big_file, scratch: Path,
                             mode: str, tls_ca: Path | None = None) -> list[dict]:
    """Two sessions through VIP:21 (round robin: one per server), FTPS with `tls_ca`, that log in,
    download and upload; replies name only the VIP, active data comes from VIP:20, and both
    servers' own logs name 10.77.1.2 for these sessions, never the balancer's 10.77.2.1. The
    sessions' reports."""
    upload = scratch / "upload.bin"
    upload_sha = ftpenv.make_random_file(upload, ftpenv.MIB)
    offsets = {name: server.client_log_size() for name, server in tp_servers.items()}
    uploaded: dict[str, list[str]] = {name: [] for name in tp_servers}
    reports = []
    try:
        for _ in range(2):
            remote = f"tp-{mode}-{uuid.uuid4().hex[:8]}.bin"
            report = ftp_session(lab, VIP, mode, "big.bin", (upload, remote), tls_ca=tls_ca)
            reports.append(report)
            server = tp_servers[report["server_id"]]
            uploaded[server.name].append(remote)
            assert report["retrieved_sha256"] == big_file.sha256
            assert ftpenv.sha256_file(server.root / remote) == upload_sha
            checks.assert_passive_replies(report["replies"], VIP, LB_PASSIVE)
            leaked = checks.lines_naming_prefix(report["replies"], "10.77.2.")
            assert not leaked, f"replies name the server network: {leaked}"
            assert report["data_peers"], report
            for host, port in report["data_peers"]:
                if mode in ftpenv.ACTIVE_MODES:
                    assert (host, port) == (VIP, 20), report["data_peers"]
                else:
                    assert host == VIP and LB_PASSIVE[0] <= port <= LB_PASSIVE[1], report["data_peers"]
        assert all(uploaded.values()), f"round robin missed a server: {uploaded}"
        for name, server in tp_servers.items():
            check_server_logs(server, offsets[name], uploaded[name], "big.bin")
    finally:
        for name, remotes in uploaded.items():
            for remote in remotes:
                (tp_servers[name].root / remote).unlink(missing_ok=True)
    check_servers_alive(tp_servers)
    return reports


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_servers_see_the_client_through_the_balancer(lab, tp_servers, transparent_balancer, big_file,
                                                     scratch, mode):
    """Through VIP:21, two sessions (round robin: one per server) log in, download and
    upload; replies name only the VIP, active data comes from VIP:20, and both servers'
    own logs name 10.77.1.2 for these sessions, never the balancer's 10.77.2.1."""
    sessions_through_the_vip(lab, tp_servers, big_file, scratch, mode)
    check_balancer_alive(transparent_balancer)


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_curl_through_the_balancer(lab, tp_servers, transparent_balancer, big_file, scratch, mode):
    for index in range(2):
        local = scratch / f"curl-{index}.bin"
        result = ftpenv.curl(VIP, 21, "big.bin", mode, ["--output", str(local)], ns=lab.topology.client).check()
        assert ftpenv.MODE_VERB[mode] in result.verbs(), result.describe()
        checks.assert_passive_replies(result.replies(), VIP, LB_PASSIVE)
        assert not checks.lines_naming_prefix(result.replies(), "10.77.2."), result.describe()
        assert ftpenv.sha256_file(local) == big_file.sha256
        local.unlink()
    check_balancer_alive(transparent_balancer)


COLLIDING_PORT_CLIENT = r"""
import ftplib, json, socket, subprocess, sys
sys.path.insert(0, sys.argv[4])
import ftpenv
vip, balancer_ns, client_ip = sys.argv[1], sys.argv[2], sys.argv[3]
ftp = ftpenv.open_ftp(vip, 21)
# The port this host's kernel gave ftplb's transparent control connection to the server, on
# the client's address, in the balancer's namespace.
out = subprocess.run(["ip", "netns", "exec", balancer_ns, "ss", "-Htn", "state", "established"],
                     capture_output=True, text=True, timeout=10).stdout
ports = []
for line in out.splitlines():
    addresses = [field for field in line.split() if field.count(":") == 1]
    if len(addresses) == 2 and addresses[0].startswith(client_ip + ":") and addresses[1].endswith(":21"):
        ports.append(int(addresses[0].rsplit(":", 1)[1]))
report = {"ports": ports}
if len(ports) == 1:
    # The client listens on that very port in its own namespace and announces it.
    listener = socket.create_server((client_ip, ports[0]))
    listener.settimeout(20)
    try:
        report["eprt"] = ftp.sendcmd(f"EPRT |1|{client_ip}|{ports[0]}|")
        ftp.voidcmd("TYPE I")
        ftp.sendcmd("RETR server-id.txt")
        conn, peer = listener.accept()
        with conn:
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        report["peer"] = list(peer)
        report["data"] = b"".join(chunks).decode().strip()
        report["final"] = ftp.voidresp()
    except ftplib.Error as error:
        report["error"] = str(error)
    ftp.quit()
print(json.dumps(report))
"""


def test_active_mode_takes_a_client_port_the_kernel_gave_to_one_of_the_balancers_connections(
        lab, tp_servers, transparent_balancer):
    """The client picks its EPRT port in its own stack; on the balancer the kernel may have given
    that same port, on the client's address, to ftplb's transparent connection to the server.
    The active-mode listener must still take client:port. Made to happen here on purpose: the
    client announces exactly the port of the session's own control connection to the server."""
    result = lab.in_client([ftpenv.SYSTEM_PYTHON, "-c", COLLIDING_PORT_CLIENT, VIP, lab.balancer_ns, CLIENT_IP,
                            str(ftpenv.HERE)], timeout=60)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = json.loads(result.stdout)
    assert len(report["ports"]) == 1, report
    assert "error" not in report, f"{report}\n{transparent_balancer.log_tail()}"
    assert report["eprt"].startswith("200"), report
    assert report["data"] in tp_servers, report
    assert report["peer"] == [VIP, 20], report
    assert report["final"].startswith("226"), report
    check_balancer_alive(transparent_balancer)


def test_routed_traffic_passes_while_the_balancer_runs(lab, tp_servers, echo_servers, transparent_balancer):
    """The transparent sockets and the nft rule catch only the balancer's own flows: plain
    TCP and FTP straight to the servers still pass through the routing, unchanged."""
    check_routed_paths(lab, tp_servers)
    check_balancer_alive(transparent_balancer)


def test_no_stale_namespaces(lab):
    """No namespace of a dead run is left, ours are all there (the lab fixture checks, on
    teardown, that they go). Namespaces of another live run (a second suite) may exist."""
    NetnsTopology.remove_stale()
    names = netns_names()
    stale = [name for name in names
             if (match := re.fullmatch(rf"{NetnsTopology.PREFIX}(\d+)-[\w-]+", name))
             and not Path(f"/proc/{match.group(1)}").exists()]
    assert not stale, stale
    assert set(lab.topology.namespaces) <= set(names)
    assert all(ns.startswith(f"{NetnsTopology.PREFIX}{os.getpid()}-{TAG}-") for ns in lab.topology.namespaces)
