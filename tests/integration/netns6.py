"""A dual-stack topology in network namespaces, for IPv6 clients in front of IPv4 servers.

    client   10.80.1.2 (IPv4 only)      --veth--  balancer 10.80.1.1, VIP 10.80.1.10
    client6  2001:db8:80:1::2 (IPv6 only) --veth--  balancer 2001:db8:80:1::1, VIP6 2001:db8:80:1::10
    balancer 10.81.0.1 and fd80:2::1 on a bridge towards the servers:
        s1 10.81.0.11, s2 10.81.0.12 (IPv4 only), s3 fd80:2::13 (IPv6 only)

NetnsTopology builds the IPv4 part (with a third server); this adds the IPv6 client and
addresses, with `nodad` so that they are usable at once, and takes the IPv4 address off the
IPv6-only server. Names start with `ftplbv6<pid>-`, which the IPv4 suite's stale-namespace
check does not claim; remove_stale() here removes this topology's leftovers only.
"""

from __future__ import annotations

import os

import dataclasses
from pathlib import Path

import ftpenv
from ftpenv import NetnsTopology, run


class DualStackTopology(NetnsTopology):
    PREFIX = "ftplbv6"
    CLIENT_IP = "10.80.1.2"
    GATEWAY_CLIENT_SIDE = "10.80.1.1"
    VIP = "10.80.1.10"
    BALANCER_SERVER_SIDE = "10.81.0.1"
    SERVER_IPS = ("10.81.0.11", "10.81.0.12", "10.81.0.13")

    CLIENT6_IP = "2001:db8:80:1::2"
    GATEWAY6_CLIENT_SIDE = "2001:db8:80:1::1"
    VIP6 = "2001:db8:80:1::10"
    BALANCER6_SERVER_SIDE = "fd80:2::1"
    SERVER6_IP = "fd80:2::13"
    # What no client may ever see: the server network, in both families.
    SERVER_NETWORK_PREFIXES = ("10.81.", "fd80:")

    def __init__(self, tag: str | None = None) -> None:
        super().__init__(tag)
        stem = f"{self.PREFIX}{os.getpid()}" + (f"-{tag}" if tag else "")
        self.servers = (f"{stem}-s1", f"{stem}-s2", f"{stem}-s3")
        self.client6 = f"{stem}-c6"

    @property
    def namespaces(self) -> list[str]:
        return [*super().namespaces, self.client6]

    def create(self) -> "DualStackTopology":
        super().create()
        run6 = self._ip
        run(["ip", "netns", "add", self.client6], timeout=10)
        self.created.append(self.client6)
        run6(self.client6, "link", "set", "lo", "up")
        run6(None, "link", "add", "c6-b", "netns", self.client6, "type", "veth",
             "peer", "name", "b-c6", "netns", self.balancer)
        run6(self.client6, "addr", "add", f"{self.CLIENT6_IP}/64", "dev", "c6-b", "nodad")
        run6(self.client6, "link", "set", "c6-b", "up")
        run6(self.client6, "-6", "route", "add", "default", "via", self.GATEWAY6_CLIENT_SIDE)
        for address in (self.GATEWAY6_CLIENT_SIDE, self.VIP6):
            run6(self.balancer, "addr", "add", f"{address}/64", "dev", "b-c6", "nodad")
        run6(self.balancer, "link", "set", "b-c6", "up")
        run6(self.balancer, "addr", "add", f"{self.BALANCER6_SERVER_SIDE}/64", "dev", "br0", "nodad")
        server6 = self.servers[2]
        run6(server6, "-4", "addr", "flush", "dev", "s-b")
        run6(server6, "addr", "add", f"{self.SERVER6_IP}/64", "dev", "s-b", "nodad")
        run6(server6, "-6", "route", "add", "default", "via", self.BALANCER6_SERVER_SIDE)
        self.wait_reachable(self.client6, self.VIP6)
        self.wait_reachable(self.balancer, self.SERVER6_IP)
        return self



@dataclasses.dataclass(frozen=True)
class ServerPlan:
    """A server made to need translation, or not: `extra` switches a data mode off."""
    name: str
    kind: str  # "vsftpd" or "pyftpdlib"
    namespace: int  # index into DualStackTopology.servers
    host: str
    port: int
    passive_ports: tuple[int, int]
    extra: tuple[str, ...] = ()


SERVER_PLANS = (
    ServerPlan("v4-pasv-only", "vsftpd", 0, "10.81.0.11", 21, (41000, 41049), ("port_enable=NO",)),
    ServerPlan("v4-both", "vsftpd", 0, "10.81.0.11", 2121, (41050, 41099)),
    ServerPlan("v4-port-only", "vsftpd", 1, "10.81.0.12", 21, (41100, 41149), ("pasv_enable=NO",)),
    ServerPlan("v4-no-epsv", "pyftpdlib", 1, "10.81.0.12", 2121, (41150, 41199), ("--refuse", "EPSV")),
    ServerPlan("v6-both", "pyftpdlib", 2, "fd80:2::13", 21, (41200, 41249)),
)


@dataclasses.dataclass(frozen=True)
class ServicePlan:
    """One virtual service of the dual-stack balancer: a policy and the one server it needs."""
    policy: str
    server: str
    port: int
    # Listen on 0.0.0.0 and [::] with an advertise entry per family, rather than on the VIPs.
    wildcard: bool = False

    @property
    def name(self) -> str:
        return f"{self.policy}-{self.server}" + ("-wildcard" if self.wildcard else "")

    @property
    def passive_ports(self) -> tuple[int, int]:
        first = 40000 + (self.port - 2100) * 20
        return first, first + 19


# Each data_transfer_policy in front of a server that needs it: a passive-only vsftpd behind
# PORT/EPRT clients, an active-only one behind PASV/EPSV clients, a server without EPSV for
# the PASV fallback, and the IPv6 server behind IPv4 clients.
SERVICE_PLANS = (
    ServicePlan("client", "v4-both", 2101),
    ServicePlan("client", "v6-both", 2102),
    ServicePlan("passive", "v4-no-epsv", 2103),
    ServicePlan("pasv", "v4-pasv-only", 2104),
    ServicePlan("epsv", "v6-both", 2105),
    ServicePlan("active", "v6-both", 2106),
    ServicePlan("port", "v4-port-only", 2107),
    ServicePlan("eprt", "v4-port-only", 2108),
    ServicePlan("client", "v4-both", 2109, wildcard=True),
)


def endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def start_server(plan: ServerPlan, topology: DualStackTopology, workdir: Path,
                 big_file: Path, small_file: Path) -> ftpenv.FTPServer:
    root = workdir / f"root-v6-{plan.name}"
    ftpenv.populate_root(root, plan.name, big_file)
    small = root / small_file.name
    if not small.exists():
        small.hardlink_to(small_file)
    ns = topology.servers[plan.namespace]
    if plan.kind == "vsftpd":
        return ftpenv.start_vsftpd(workdir, f"v6-{plan.name}", plan.host, plan.port, plan.passive_ports, root,
                                   tls=False, ns=ns, extra=plan.extra)
    return ftpenv.start_pyftpdlib(workdir, f"v6-{plan.name}", plan.host, plan.port, plan.passive_ports, root,
                                  ns=ns, extra=plan.extra)


def balancer_yaml(relay: str = "splice") -> str:
    """One service per plan, each on both VIPs: `listen` as a list, `advertise` left to the
    listen addresses. No source_address: the pools mix families. `relay` is data_path.relay."""
    servers = {plan.name: plan for plan in SERVER_PLANS}
    vips = (DualStackTopology.VIP, DualStackTopology.VIP6)
    services = [
        {
            "name": plan.name,
            "listen": [endpoint(host, plan.port) for host in (("0.0.0.0", "::") if plan.wildcard else vips)],
            "advertise": list(vips) if plan.wildcard else None,
            "passive_ports": plan.passive_ports,
            "servers": [endpoint(servers[plan.server].host, servers[plan.server].port)],
            "data_transfer_policy": plan.policy,
            "health_check": {"type": "none"},
            "timeouts": ftpenv.TEST_TIMEOUTS,
        }
        for plan in SERVICE_PLANS
    ]
    return ftpenv.ftplb_pools_yaml(services) + f"data_path: {{relay: {relay}}}\n"
