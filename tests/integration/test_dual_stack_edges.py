"""IPv6 clients with the client_address modes, in netns6's dual-stack topology (tag "e").

- transparent (under data_transfer_policy client, active and passive): the IPv6 client
  reaches the IPv6 server (s3, pyftpdlib) through the balancer,
  its upstream control and data connections leave from the client's own address, and
  `ftplb setup-transparent` prints and applies the `ip -6` rules that catch the replies;
  pyftpdlib refuses EPRT addresses and passive data connections of any other address than its
  control peer, and logs that peer, so its log shows what it saw.
- proxy_protocol_v1/v2: the IPv6 client in front of an IPv4 server behind HAProxy
  (accept-proxy, in s1), which logs the client address it read from the header. The server
  gets EPSV whatever the client sends (data_transfer_policy: passive): vsftpd behind a proxy
  on its own host cannot bind port 20 for active mode.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest

import ftpenv
import netns6
from netns6 import DualStackTopology

pytestmark = pytest.mark.balancer_only

FTP_CLIENT = str(ftpenv.HERE / "ftp_client.py")
V6_SERVER = netns6.ServerPlan("e-v6", "pyftpdlib", 2, DualStackTopology.SERVER6_IP, 21, (41300, 41349))
PP_SERVER = netns6.ServerPlan("e-behind-haproxy", "vsftpd", 0, "10.81.0.11", 2121, (41350, 41399),
                              # Its control peer is HAProxy; its data connections come from ftplb.
                              ("pasv_promiscuous=YES", "port_enable=NO"))
# Transparent services per data_transfer_policy: the server gets the client's verb, EPRT, or EPSV.
TRANSPARENT_PORTS = {"client": 2141, "active": 2142, "passive": 2143}
PROXY_PORTS = {"proxy_protocol_v1": 2151, "proxy_protocol_v2": 2152}
PP_LOG = re.compile(r"pp-client=(\S+):(\d+) fe=control")


@pytest.fixture(scope="module")
def topology():
    DualStackTopology.remove_stale()
    topo = DualStackTopology("e")
    try:
        topo.create()
        yield topo
    finally:
        topo.destroy()


@pytest.fixture(scope="module")
def servers(topology, workdir, big_file, ftp_user):
    small = ftpenv.make_world_readable_dir(workdir / "data-e") / "edge.bin"
    ftpenv.make_random_file(small, ftpenv.MIB)
    small.chmod(0o644)
    started = []
    try:
        for plan in (V6_SERVER, PP_SERVER):
            started.append(netns6.start_server(plan, topology, workdir, big_file.path, small))
        yield {server.name.removeprefix("v6-"): server for server in started}
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def haproxy(topology, servers, workdir):
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        pytest.fail("haproxy is not installed (scripts/install-test-deps.sh installs it)")
    config = workdir / "e-haproxy.cfg"
    config.write_text(
        "global\n    log stdout format raw local0 info\n"
        "defaults\n    mode tcp\n    log global\n    option logasap\n"
        '    log-format "pp-client=%ci:%cp fe=%ft"\n'
        "    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n"
        f"frontend control\n    bind {PP_SERVER.host}:21 accept-proxy\n    default_backend ftp\n"
        f"backend ftp\n    server s1 {PP_SERVER.host}:{PP_SERVER.port}\n"
    )
    ns = topology.servers[PP_SERVER.namespace]
    proxy = ftpenv.ManagedProcess("e-haproxy", ftpenv.ns_prefix(ns) + [binary, "-db", "-f", str(config)],
                                  workdir / "e-haproxy.log")
    try:
        ftpenv.wait_for_tcp(PP_SERVER.host, 21, proc=proxy, ns=ns)
        yield proxy
    finally:
        proxy.stop()


def edge_yaml() -> str:
    vip6 = DualStackTopology.VIP6
    services = [{
        "name": f"transparent6-{policy}",
        "listen": netns6.endpoint(vip6, port),
        "passive_ports": (40400 + 20 * index, 40419 + 20 * index),
        "client_address": "transparent",
        "data_transfer_policy": policy,
        "health_check": {"type": "none"},
        "timeouts": ftpenv.TEST_TIMEOUTS,
        "servers": [netns6.endpoint(V6_SERVER.host, V6_SERVER.port)],
    } for index, (policy, port) in enumerate(TRANSPARENT_PORTS.items())]
    for index, (mode, port) in enumerate(PROXY_PORTS.items()):
        services.append({
            "name": mode.replace("_", "-"),
            "listen": netns6.endpoint(vip6, port),
            "passive_ports": (40460 + 20 * index, 40479 + 20 * index),
            "client_address": mode,
            "data_transfer_policy": "passive",
            "health_check": {"type": "none"},
            "timeouts": ftpenv.TEST_TIMEOUTS,
            "servers": [f"{PP_SERVER.host}:21"],
        })
    return ftpenv.ftplb_pools_yaml(services)


@pytest.fixture(scope="module")
def balancer(topology, servers, haproxy, workdir):
    config = workdir / "e-ftplb.yaml"
    config.write_text(edge_yaml())
    setup = ftpenv.run(ftpenv.ns_prefix(topology.balancer) + [
        str(ftpenv.ftplb_binary()), "setup-transparent", "--config", str(config), "--apply"], timeout=60)
    process = ftpenv.start_ftplb_file(
        workdir, "e-ftplb", config,
        [(DualStackTopology.VIP6, port) for port in (*TRANSPARENT_PORTS.values(), *PROXY_PORTS.values())],
        ns=topology.balancer)
    try:
        yield config, setup.stdout.decode()
    finally:
        process.stop()


def ftplib_session(topology, port: int, mode: str, server: ftpenv.FTPServer) -> dict:
    """RETR, LIST and STOR of 1 MiB from the IPv6 client; the upload is compared and removed."""
    stored_name = f"e-up-{uuid.uuid4().hex[:8]}.bin"
    result = topology.run_in(topology.client6, [
        ftpenv.SYSTEM_PYTHON, FTP_CLIENT, "--host", DualStackTopology.VIP6, "--port", str(port), "--mode", mode,
        "--retrieve", "edge.bin", "--store", str(server.root / "edge.bin"), stored_name], timeout=120)
    stored = server.root / stored_name
    try:
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        assert ftpenv.sha256_file(stored) == ftpenv.sha256_file(server.root / "edge.bin")
    finally:
        stored.unlink(missing_ok=True)
    report = json.loads(result.stdout)
    assert report["retrieved_sha256"] == ftpenv.sha256_file(server.root / "edge.bin")
    return report


def test_setup_transparent_prints_and_applies_the_ip6_rules(topology, balancer):
    _, printed = balancer
    assert "ip -6 rule add fwmark 0x1 lookup 100" in printed, printed
    assert "ip -6 route replace local ::/0 dev lo table 100" in printed, printed
    rules = ftpenv.run(ftpenv.ns_prefix(topology.balancer) + ["ip", "-6", "rule", "show"], timeout=10).stdout.decode()
    assert "fwmark 0x1 lookup 100" in rules, rules


@pytest.mark.parametrize("policy", list(TRANSPARENT_PORTS))
@pytest.mark.parametrize("mode", ["epsv", "eprt"])
def test_transparent_ipv6_server_sees_the_ipv6_client(topology, servers, balancer, mode, policy):
    """Also when the server gets another mode than the client's: EPRT for an EPSV client (the
    balancer's transparent listener takes the server's connection to the client's address), EPSV
    for an EPRT client (the balancer connects from the client's address)."""
    server = servers[V6_SERVER.name]
    before = len(server.process.log_text())
    ftplib_session(topology, TRANSPARENT_PORTS[policy], mode, server)
    logged_in = [line for line in server.process.log_text()[before:].splitlines() if f"-[{ftpenv.FTP_USER}]" in line]
    assert logged_in, server.process.log_tail()
    client = DualStackTopology.CLIENT6_IP
    others = [line for line in logged_in if f" {client}:" not in line]
    assert not others, f"the server saw another address than the client's: {others}"


@pytest.mark.parametrize("version", list(PROXY_PORTS))
@pytest.mark.parametrize("mode", ["epsv", "eprt"])
def test_proxy_protocol_carries_the_ipv6_client_to_an_ipv4_server(topology, servers, haproxy, balancer,
                                                                  version, mode):
    before = len(haproxy.log_text())
    ftplib_session(topology, PROXY_PORTS[version], mode, servers[PP_SERVER.name])
    clients = {m.group(1) for m in PP_LOG.finditer(haproxy.log_text()[before:])}
    assert clients == {DualStackTopology.CLIENT6_IP}, haproxy.log_tail()
