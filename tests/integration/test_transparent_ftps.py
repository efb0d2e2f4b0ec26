"""FTPS in transparent mode: a client in its own namespace speaks FTPS (AUTH TLS, PROT P, its
data connections resuming the control connection's session) to a transparent service, and the
plain servers behind it (vsftpd, pure-ftpd) still see the client's own address on the control
and data connections the balancer opens for it. The topology, servers and log checks are
`test_transparent.py`'s (its namespaces, made again for this file).
"""

from __future__ import annotations

import pytest

import ftpenv
from test_transparent import (  # noqa: F401  (lab and tp_servers are fixtures)
    FWMARK, ROUTE_TABLE, VIP, describe, lab, sessions_through_the_vip, setup_transparent, tp_servers,
    transparent_yaml)
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
    PROT P, checked as the plain ones are (`sessions_through_the_vip`: passive replies name the
    VIP, both servers' logs name the client, never the balancer); each data connection resumed
    the session's TLS session."""
    for report in sessions_through_the_vip(lab, tp_servers, big_file, scratch, mode, tls_ca=ftps_pki.ca_cert):
        # server-id.txt, LIST, big.bin, the upload: four protected data connections.
        assert len(report["data_tls"]) == 4 and all(resumed for _, resumed in report["data_tls"]), report
    assert ftps_transparent_balancer.alive(), ftps_transparent_balancer.log_tail()
    assert "client TLS established" in ftps_transparent_balancer.log_text()
