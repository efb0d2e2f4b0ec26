"""FTPS in transparent mode: a client in its own namespace speaks FTPS (AUTH TLS, PROT P, its
data connections resuming the control connection's session) to a transparent service, and the
plain servers behind it (vsftpd, pure-ftpd) still see the client's own address on the control
and data connections the balancer opens for it. The topology, servers and log checks are
`test_transparent.py`'s (its namespaces, made again for this file).
"""

from __future__ import annotations

import uuid

import pytest

import ftpenv
from test_transparent import (  # noqa: F401  (lab and tp_servers are fixtures)
    FWMARK, LB_PASSIVE, ROUTE_TABLE, VIP, check_server_logs, describe, ftp_session, lab, setup_transparent,
    tp_servers, transparent_yaml)
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only(
    reason="client_address: transparent is a balancer feature; direct mode has no balancer")


@pytest.fixture(scope="module")
def ftps_transparent_balancer(lab, tp_servers, ftps_pki, workdir) -> ftpenv.ManagedProcess:
    """A transparent service with `tls:` (explicit) on VIP:21, after `setup-transparent --apply`."""
    tls = {"mode": "explicit", "certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    config = workdir / "tp-ftps-ftplb.yaml"
    config.write_text(transparent_yaml({"fwmark": FWMARK, "route_table": ROUTE_TABLE}, tls=tls))
    result = setup_transparent(["--config", str(config), "--apply"], lab.balancer_ns)
    assert result.returncode == 0, describe(result)
    process = lab.track(ftpenv.start_ftplb_file(workdir, "tp-ftps-ftplb", config, [(VIP, 21)], ns=lab.balancer_ns))
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("mode", ["pasv", "port"])
def test_ftps_clients_reach_the_servers_with_their_own_address(lab, tp_servers, ftps_transparent_balancer,
                                                               ftps_pki, big_file, scratch, mode):
    """Two FTPS sessions (round robin: one per server) download and upload through VIP:21 over
    PROT P; each data connection resumed the session's TLS session, passive replies name the
    VIP, and both servers' logs name the client, never the balancer, for these transfers."""
    upload = scratch / "upload-tls.bin"
    upload_sha = ftpenv.make_random_file(upload, ftpenv.MIB)
    offsets = {name: server.client_log_size() for name, server in tp_servers.items()}
    uploaded: dict[str, list[str]] = {name: [] for name in tp_servers}
    try:
        for _ in range(2):
            remote = f"tp-tls-{mode}-{uuid.uuid4().hex[:8]}.bin"
            report = ftp_session(lab, VIP, mode, "big.bin", (upload, remote), tls_ca=ftps_pki.ca_cert)
            server = tp_servers[report["server_id"]]
            uploaded[server.name].append(remote)
            assert report["retrieved_sha256"] == big_file.sha256
            assert ftpenv.sha256_file(server.root / remote) == upload_sha
            # server-id.txt, LIST, big.bin, the upload: four protected data connections.
            assert len(report["data_tls"]) == 4 and all(resumed for _, resumed in report["data_tls"]), report
            for host, port in report["data_peers"]:
                if mode == "port":
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
    assert ftps_transparent_balancer.alive(), ftps_transparent_balancer.log_tail()
    assert "client TLS established" in ftps_transparent_balancer.log_text()
