"""The scale-out bed of test_ecmp.py: three ftplb nodes behind a router that spreads the VIP
over them with a resilient nexthop group, hashing on source and destination address only.

    c: 40 clients 10.79.1.101-140 ── r 10.79.1.1   router: 10.79.0.10/32 nhid 10
                                     r 10.79.1N.1 ── nN 10.79.1N.2, VIP 10.79.0.10 on lo  (N = 1, 2, 3)
    nN 10.78.30.1N ── sw brk ── s1 10.78.30.21 vsftpd, s2 10.78.30.22 vsftpd

Every node runs the same service (plain proxy, one passive range); its admin API listens on
its uplink address with a token, so that the router can ask /healthz (open without a token),
and ha_health_router.py in the router namespace keeps the group to the nodes that answer 200.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import ftpenv
import ha_topology
from ha_topology import Lab

VIP = "10.79.0.10"
CLIENTS = [f"10.79.1.{host}" for host in range(101, 141)]
NODES = {f"n{n}": n for n in (1, 2, 3)}
SERVERS = {"s1": "10.78.30.21", "s2": "10.78.30.22"}
PASSIVE = (49600, 49699)
TOKEN = "ecmp-admin-token-0123456789"
GROUP, BUCKETS, IDLE_TIMER = 10, 64, 120  # idle_timer above ftplb's control_idle of 60 s
ROUTER = str(ftpenv.HERE / "ha_health_router.py")


def uplink(node: str) -> str:
    return f"10.79.1{NODES[node]}.2"


def admin(node: str) -> str:
    return f"{uplink(node)}:9021"


def build(lab: Lab, group: bool = True) -> dict[str, str]:
    """The namespaces by short name; without `group`, the router gets no route to the VIP (a
    BGP daemon installs it)."""
    names = {short: lab.add(short) for short in ("r", "c", "sw", "s1", "s2", *NODES)}
    r, sw = names["r"], names["sw"]
    lab.sysctl(r, "net.ipv4.ip_forward=1", "net.ipv4.fib_multipath_hash_policy=0")
    lab.veth(names["c"], "f", r, "c0")
    lab.ip(r, "addr", "add", "10.79.1.1/24", "dev", "c0")
    for client in CLIENTS:
        lab.ip(names["c"], "addr", "add", f"{client}/24", "dev", "f")
    lab.ip(names["c"], "route", "add", "default", "via", "10.79.1.1")
    lab.bridge(sw, "brk")
    for node, n in NODES.items():
        lab.veth(names[node], "u", r, node)
        lab.ip(r, "addr", "add", f"10.79.1{n}.1/24", "dev", node)
        lab.ip(names[node], "addr", "add", f"{uplink(node)}/24", "dev", "u")
        lab.ip(names[node], "route", "add", "default", "via", f"10.79.1{n}.1")
        lab.ip(names[node], "addr", "add", f"{VIP}/32", "dev", "lo")
        lab.veth(names[node], "k", sw, f"{node}-k")
        lab.ip(sw, "link", "set", f"{node}-k", "master", "brk")
        lab.ip(names[node], "addr", "add", f"10.78.30.1{n}/24", "dev", "k")
        if group:
            lab.ip(r, "nexthop", "add", "id", str(n), "via", uplink(node), "dev", node)
    if group:
        lab.ip(r, "nexthop", "add", "id", str(GROUP), "group", "/".join(str(n) for n in NODES.values()),
               "type", "resilient", "buckets", str(BUCKETS), "idle_timer", str(IDLE_TIMER))
        lab.ip(r, "route", "add", f"{VIP}/32", "nhid", str(GROUP))
    for server, address in SERVERS.items():
        lab.veth(names[server], "k", sw, f"{server}-k")
        lab.ip(sw, "link", "set", f"{server}-k", "master", "brk")
        lab.ip(names[server], "addr", "add", f"{address}/24", "dev", "k")
    return names


def start_servers(lab: Lab, names: dict[str, str], workdir: Path) -> list[ftpenv.FTPServer]:
    started = []
    for index, (short, address) in enumerate(SERVERS.items()):
        name = f"ha-ecmp-{short}"
        root = workdir / f"root-{name}"
        ftpenv.populate_root(root, name)
        passive = (49000 + 100 * index, 49099 + 100 * index)
        server = ftpenv.start_vsftpd(workdir, name, address, 21, passive, root, tls=False, ns=names[short])
        lab.track(server.process)
        started.append(server)
    return started


def start_node(lab: Lab, names: dict[str, str], node: str, run: int = 0) -> ftpenv.ManagedProcess:
    service = ha_topology.ftplb_service("ecmp", VIP, PASSIVE, SERVERS.values(), freebind=False)
    return ha_topology.start_ftplb(lab, f"ha-ecmp-{node}-{run}", names[node], [service],
                                   admin=admin(node), token=TOKEN)


class HealthRouter:
    """ha_health_router.py in the router namespace; `changes` reads its lines."""

    def __init__(self, names: dict[str, str]) -> None:
        argv = [ftpenv.SYSTEM_PYTHON, ROUTER, "--group", str(GROUP), "--buckets", str(BUCKETS),
                "--idle-timer", str(IDLE_TIMER)]
        for node, n in NODES.items():
            argv += ["--node", f"{n}=http://{admin(node)}/healthz"]
        self.process = subprocess.Popen(ftpenv.ns_prefix(names["r"]) + argv,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def next_change(self) -> dict:
        line = self.process.stdout.readline()  # bounded by the test's watchdog
        assert line, f"the health router ended with {self.process.wait(timeout=5)}"
        return json.loads(line)

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


class Holder:
    """ha_client.py hold: one logged-in session per client address, kept open."""

    def __init__(self, names: dict[str, str], sources: list[str]) -> None:
        self.process = subprocess.Popen(
            ftpenv.ns_prefix(names["c"]) + [ftpenv.SYSTEM_PYTHON, ha_topology.HA_CLIENT, "hold", "--host", VIP,
                                            "--sources", ",".join(sources), "--timeout", "5"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        answer = json.loads(self.process.stdout.readline() or b"{}")
        assert answer.get("held") == len(sources), answer

    def check(self, mode: str) -> dict[str, str]:
        self.process.stdin.write(f"check {mode}\n".encode())
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=20)


def sessions_by_node(lab: Lab, names: dict[str, str], nodes) -> dict[str, str]:
    """client address -> the node whose session table has it (each at most once)."""
    where: dict[str, str] = {}
    for node in nodes:
        status, body = lab.http(names[node], f"http://{admin(node)}/api/v1/sessions", token=TOKEN)
        assert status == 200, body
        for session in json.loads(body)["sessions"]:
            client = session["client"].rsplit(":", 1)[0]
            assert where.setdefault(client, node) == node, f"{client} has sessions on {where[client]} and {node}"
    return where


def misrouted(lab: Lab, names: dict[str, str], node: str) -> float:
    return ha_topology.metric(lab, names[node], "ftplb_misrouted_data_connections_total", admin=admin(node),
                              token=TOKEN)
