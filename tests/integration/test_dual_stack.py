"""Dual-stack virtual services and data_transfer_policy, in network namespaces.

An IPv4-only client and an IPv6-only client reach one balancer whose services each listen on
both VIPs (`listen` as a list); behind it, IPv4-only servers and one IPv6-only server, some
made to need translation (netns6.SERVER_PLANS): vsftpd with port_enable=NO behind PORT/EPRT
clients, vsftpd with pasv_enable=NO behind PASV/EPSV clients, pyftpdlib without EPSV for
`passive`'s fallback to PASV, the IPv6 server behind IPv4 clients.

Everything runs twice, with each data_path.relay (splice, copy). What is moved: the full cross
product, every client mode x every service (each policy, and
`client` once more on 0.0.0.0 and [::] with an advertise entry per family), runs
ftplib with RETR, LIST and STOR of a 1 MiB file; a representative set of eight, one per
service, each the combination that needs the most translation, moves the 64 MiB file both
ways with ftplib, and five more with curl and lftp. Every transfer is checked by sha256, every
reply line for any address of the server network (IPv4 10.81.x, IPv6 fd80:), and each data
connection's peer: the VIP of the client's family, port 20 for active modes.
"""

from __future__ import annotations

import json
import uuid

import pytest

import checks
import ftpenv
import netns6
from netns6 import DualStackTopology

pytestmark = pytest.mark.balancer_only

FTP_CLIENT = str(ftpenv.HERE / "ftp_client.py")
SMALL_NAME = "matrix.bin"
# IPv6 clients have EPSV and EPRT only: PASV is refused on IPv6 (RFC 2428), PORT cannot name it.
CLIENT_MODES = [("v4", "pasv"), ("v4", "epsv"), ("v4", "port"), ("v4", "eprt"), ("v6", "epsv"), ("v6", "eprt")]
SERVICES = {plan.name: plan for plan in netns6.SERVICE_PLANS}
# One per service: the client mode whose verb the server can least take as it is.
BIG_SET = [
    ("v6", "eprt", "client-v4-both"), ("v4", "pasv", "client-v6-both"), ("v4", "port", "passive-v4-no-epsv"),
    ("v6", "eprt", "pasv-v4-pasv-only"), ("v4", "port", "epsv-v6-both"), ("v6", "epsv", "active-v6-both"),
    ("v6", "epsv", "port-v4-port-only"), ("v4", "pasv", "eprt-v4-port-only"),
]


@pytest.fixture(scope="module")
def topology():
    DualStackTopology.remove_stale()
    topo = DualStackTopology()
    try:
        topo.create()
        yield topo
    finally:
        topo.destroy()


@pytest.fixture(scope="module")
def small_file(workdir):
    path = ftpenv.make_world_readable_dir(workdir / "data-v6") / SMALL_NAME
    sha = ftpenv.make_random_file(path, ftpenv.MIB)
    path.chmod(0o644)
    return path, sha


@pytest.fixture(scope="module")
def fleet(topology, workdir, big_file, small_file, ftp_user):
    started: dict[str, ftpenv.FTPServer] = {}
    try:
        for plan in netns6.SERVER_PLANS:
            started[plan.name] = netns6.start_server(plan, topology, workdir, big_file.path, small_file[0])
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module", params=["splice", "copy"])
def balancer(topology, fleet, workdir, request):
    """Once with each data_path.relay: translated data connections have a relay of each."""
    config = workdir / f"ftplb-v6-{request.param}.yaml"
    config.write_text(netns6.balancer_yaml(request.param))
    listens = [(host, plan.port) for plan in netns6.SERVICE_PLANS
               for host in (DualStackTopology.VIP, DualStackTopology.VIP6)]
    process = ftpenv.start_ftplb_file(workdir, f"ftplb-v6-{request.param}", config, listens, ns=topology.balancer)
    try:
        yield process
    finally:
        process.stop()


def client_side(topology: DualStackTopology, family: str) -> tuple[str, str]:
    """The namespace of the client of `family` and the VIP it uses."""
    return (topology.client, topology.VIP) if family == "v4" else (topology.client6, topology.VIP6)


def check_replies(lines: list[str]) -> None:
    for prefix in DualStackTopology.SERVER_NETWORK_PREFIXES:
        leaked = (checks.lines_naming_ipv6_prefix(lines, prefix) if ":" in prefix
                  else checks.lines_naming_prefix(lines, prefix))
        assert not leaked, f"replies name the server network: {leaked}"


def run_ftplib(topology, fleet, family: str, mode: str, service: str, remote: tuple[str, str],
               upload: tuple) -> None:
    """RETR `remote` (name, sha256), LIST, STOR `upload` (path, sha256) with ftplib from the
    client of `family`."""
    plan = SERVICES[service]
    ns, vip = client_side(topology, family)
    stored_name = f"v6-upload-{uuid.uuid4().hex[:8]}.bin"
    result = topology.run_in(ns, [
        ftpenv.SYSTEM_PYTHON, FTP_CLIENT, "--host", vip, "--port", str(plan.port), "--mode", mode,
        "--retrieve", remote[0], "--store", str(upload[0]), stored_name], timeout=180)
    stored = fleet[plan.server].root / stored_name
    try:
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        report = json.loads(result.stdout)
        assert report["server_id"] == plan.server
        assert any("server-id.txt" in line for line in report["listing"]), report["listing"]
        assert report["retrieved_sha256"] == remote[1]
        assert ftpenv.sha256_file(stored) == upload[1]
    finally:
        stored.unlink(missing_ok=True)
    check_replies(report["replies"])
    # The client's own verb got its own reply, whatever the server got: 227 for PASV, naming
    # the VIP, 229 for EPSV, both with a port of the service's range, and no passive reply at
    # all for PORT/EPRT (a translated one's 227/229 from the server stays with the balancer).
    passive = [line for line in report["replies"] if line[:3] in ("227", "229")]
    expected = {"pasv": "227", "epsv": "229"}.get(mode)
    assert passive if expected else not passive, report["replies"]
    assert all(line.startswith(expected or "") for line in passive), report["replies"]
    checks.assert_passive_replies(passive, vip, plan.passive_ports)
    for host, port in report["data_peers"]:
        assert host == vip, report["data_peers"]
        if mode in ftpenv.ACTIVE_MODES:
            assert port == 20, report["data_peers"]


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("family,mode", CLIENT_MODES)
def test_every_client_mode_through_every_policy(topology, fleet, balancer, small_file, family, mode, service):
    """1 MiB RETR, LIST and STOR: the whole cross product."""
    run_ftplib(topology, fleet, family, mode, service, (SMALL_NAME, small_file[1]), small_file)


@pytest.fixture(scope="module")
def big_upload(workdir, big_file):
    path = ftpenv.make_world_readable_dir(workdir / "data-v6") / "upload-big.bin"
    sha = ftpenv.make_random_file(path, big_file.size)
    path.chmod(0o644)
    return path, sha


@pytest.mark.parametrize("family,mode,service", BIG_SET)
def test_64_mib_both_ways_with_ftplib(topology, fleet, balancer, big_file, big_upload, family, mode, service):
    run_ftplib(topology, fleet, family, mode, service, ("big.bin", big_file.sha256), big_upload)


# curl and lftp, 64 MiB both ways and a listing, where translation is needed.
CURL_SET = [
    ("v6", "epsv", "port-v4-port-only"),  # EPSV client, vsftpd with pasv_enable=NO
    ("v6", "eprt", "pasv-v4-pasv-only"),  # EPRT client, vsftpd with port_enable=NO
    ("v4", "port", "pasv-v4-pasv-only"),  # PORT client, vsftpd with port_enable=NO
    ("v4", "pasv", "client-v6-both"),  # PASV client, IPv6 server (EPSV)
]
# lftp sends EPRT for an IPv6 data socket when passive mode is off.
LFTP_SET = [("v6", "eprt", "pasv-v4-pasv-only"), ("v6", "epsv", "active-v6-both")]


def check_client_result(result: ftpenv.ClientResult, mode: str) -> None:
    assert ftpenv.MODE_VERB[mode] in result.verbs(), result.describe()
    check_replies(result.replies())


@pytest.mark.parametrize("family,mode,service", CURL_SET)
def test_64_mib_both_ways_with_curl(topology, fleet, balancer, big_file, big_upload, scratch, family, mode, service):
    plan = SERVICES[service]
    ns, vip = client_side(topology, family)
    family_flag = "-4" if family == "v4" else "-6"
    local = scratch / "curl.bin"
    stored_name = f"v6-curl-{uuid.uuid4().hex[:8]}.bin"
    stored = fleet[plan.server].root / stored_name
    try:
        got = ftpenv.curl(vip, plan.port, "big.bin", mode, [family_flag, "--output", str(local)], ns=ns).check()
        put = ftpenv.curl(vip, plan.port, stored_name, mode, [family_flag, "-T", str(big_upload[0])], ns=ns).check()
        listing = ftpenv.curl(vip, plan.port, "", mode, [family_flag], ns=ns).check()
        assert ftpenv.sha256_file(local) == big_file.sha256
        assert ftpenv.sha256_file(stored) == big_upload[1]
    finally:
        stored.unlink(missing_ok=True)
    assert b"server-id.txt" in listing.stdout
    for result in (got, put, listing):
        check_client_result(result, mode)


@pytest.mark.parametrize("family,mode,service", LFTP_SET)
def test_64_mib_both_ways_with_lftp(topology, fleet, balancer, big_file, big_upload, scratch, family, mode, service):
    plan = SERVICES[service]
    ns, vip = client_side(topology, family)
    local = scratch / "lftp.bin"
    stored_name = f"v6-lftp-{uuid.uuid4().hex[:8]}.bin"
    stored = fleet[plan.server].root / stored_name
    settings = "port" if mode == "eprt" else mode
    try:
        result = ftpenv.lftp(vip, plan.port, settings, [
            f"get big.bin -o {local}", f"put {big_upload[0]} -o {stored_name}", "cls -1"], scratch, ns=ns).check()
        assert ftpenv.sha256_file(local) == big_file.sha256
        assert ftpenv.sha256_file(stored) == big_upload[1]
    finally:
        stored.unlink(missing_ok=True)
    assert b"server-id.txt" in result.stdout
    check_client_result(result, mode)
