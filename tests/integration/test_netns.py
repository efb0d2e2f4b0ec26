"""The real topology in network namespaces: client -> balancer (VIP) -> two servers.

    client ns 10.77.1.2  --veth--  balancer ns 10.77.1.1 + VIP 10.77.1.10
                                   balancer ns 10.77.2.1 (bridge) --veth-- server1 ns 10.77.2.11 vsftpd
                                                                  --veth-- server2 ns 10.77.2.12 pyftpdlib

ftplb listens on the VIP and reaches the servers from 10.77.2.1. Clients (ftplib, curl)
run inside the client namespace. In active mode the data connection the client accepts
must come from VIP:20. In direct mode the clients talk to the servers through the
balancer namespace's routing, which validates the topology itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid

import pytest

import checks
import ftpenv
from ftpenv import NetnsTopology

FTP_CLIENT = str(ftpenv.HERE / "ftp_client.py")
SERVER_NAMES = ("ns-vsftpd", "ns-pyftpdlib")


@pytest.fixture(scope="module")
def topology():
    NetnsTopology.remove_stale()
    topo = NetnsTopology()
    try:
        topo.create()
        yield topo
    finally:
        topo.destroy()


@pytest.fixture(scope="module")
def ns_servers(topology, workdir, big_file, ftp_user):
    started = []
    try:
        for name, ns, address in zip(SERVER_NAMES, topology.servers, NetnsTopology.SERVER_IPS):
            root = workdir / f"root-{name}"
            ftpenv.populate_root(root, name, big_file.path)
            if name == "ns-vsftpd":
                server = ftpenv.start_vsftpd(workdir, name, address, 21, (41000, 41099), root,
                                             tls=False, ns=ns)
            else:
                server = ftpenv.start_pyftpdlib(workdir, name, address, 21, (41100, 41199), root, ns=ns)
            started.append(server)
        yield started
    finally:
        for server in started:
            server.stop()


@dataclasses.dataclass
class NsTarget:
    host: str
    servers: list[ftpenv.FTPServer]
    balancer: ftpenv.Balancer | None

    @property
    def passive_host(self) -> str:
        return self.host

    def expected_active_peer(self, server: ftpenv.FTPServer) -> tuple[str, int | None]:
        if self.balancer:
            return NetnsTopology.VIP, 20
        return server.host, (20 if server.kind == "vsftpd" else None)

    def check_replies(self, lines: list[str]) -> None:
        for announced, _ in checks.passive_endpoints(lines):
            assert announced in (None, self.passive_host), lines
        if self.balancer:
            leaked = checks.lines_naming_prefix(lines, "10.77.2.")
            assert not leaked, f"replies name the server network: {leaked}"


@pytest.fixture(scope="module")
def ns_targets(topology, ns_servers, direct, workdir):
    """Direct: one target per server. Balancer: the VIP, twice, so round robin reaches
    both servers."""
    if direct:
        yield [NsTarget(server.host, [server], None) for server in ns_servers]
        return
    balancer = ftpenv.start_ftplb(
        workdir, "ftplb-netns", NetnsTopology.VIP, 21, advertise=NetnsTopology.VIP,
        passive_ports=(40000, 40099), source_address=NetnsTopology.BALANCER_SERVER_SIDE,
        servers=[s.address for s in ns_servers], ns=topology.balancer)
    try:
        target = NsTarget(NetnsTopology.VIP, list(ns_servers), balancer)
        yield [target, target]
    finally:
        balancer.stop()


def server_named(servers, name: str) -> ftpenv.FTPServer:
    return next(server for server in servers if server.name == name)


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_ftplib_in_namespaces(topology, ns_targets, big_file, scratch, mode):
    upload = scratch / "upload.bin"
    upload_sha = ftpenv.make_random_file(upload, ftpenv.MIB)
    seen = set()
    for target in ns_targets:
        remote = f"ns-upload-{uuid.uuid4().hex[:8]}.bin"
        result = topology.run_in(topology.client, [
            ftpenv.SYSTEM_PYTHON, FTP_CLIENT, "--host", target.host, "--mode", mode,
            "--retrieve", "big.bin", "--store", str(upload), remote], timeout=120)
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        report = json.loads(result.stdout)
        server = server_named(target.servers, report["server_id"])
        seen.add(server.name)
        stored = server.root / remote
        try:
            assert report["retrieved_sha256"] == big_file.sha256
            assert ftpenv.sha256_file(stored) == upload_sha
        finally:
            stored.unlink(missing_ok=True)
        target.check_replies(report["replies"])
        expected_host, expected_port = target.expected_active_peer(server)
        for host, port in report["data_peers"]:
            if mode in ftpenv.ACTIVE_MODES:
                assert host == expected_host, report["data_peers"]
                if expected_port is not None:
                    assert port == expected_port, report["data_peers"]
            else:
                assert host == target.passive_host
    assert seen == set(SERVER_NAMES)


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_curl_in_namespaces(topology, ns_targets, big_file, scratch, mode):
    """curl from the client namespace; which server answered is the ftplib test's
    business (curl may or may not reuse a connection between URLs)."""
    for index, target in enumerate(ns_targets):
        local = scratch / f"curl-{index}.bin"
        result = ftpenv.curl(target.host, 21, "big.bin", mode, ["--output", str(local)],
                             ns=topology.client).check()
        verbs = result.verbs()
        assert ftpenv.MODE_VERB[mode] in verbs, result.describe()
        target.check_replies(result.replies())
        assert ftpenv.sha256_file(local) == big_file.sha256
        local.unlink()


def test_stale_namespaces_are_removed():
    """remove_stale() only touches namespaces of dead runs: ours stays."""
    own = f"{NetnsTopology.PREFIX}{os.getpid()}-"
    NetnsTopology.remove_stale()
    listing = ftpenv.run(["ip", "netns", "list"], timeout=10).stdout.decode()
    stale = [line for line in listing.splitlines()
             if line.startswith(NetnsTopology.PREFIX) and not line.startswith(own)]
    assert not stale, stale
