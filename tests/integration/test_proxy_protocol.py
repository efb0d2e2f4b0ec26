"""client_address: proxy_protocol_v1 | proxy_protocol_v2, against a real receiver.

HAProxy with `accept-proxy` sits in front of vsftpd's control port, on vsftpd's own address,
and logs the client address it read from the header ftplb sent. Data connections go straight
to vsftpd, as they would to a server that reads the header itself: a header on a data
connection would land inside the uploaded file, so every upload is compared byte for byte.

    client 127.0.54.99 -> ftplb 127.0.54.1:21 -> HAProxy 127.0.54.11:21 (accept-proxy) -> vsftpd 127.0.54.11:2121
                          ftplb <------------- data connections, both directions ------> vsftpd 127.0.54.11

HAProxy connects to vsftpd from ftplb's source address, so vsftpd's own checks (PORT and
passive data from its control peer only) hold unchanged. The health checks pass through
HAProxy too: they send the LOCAL form of the header.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import time
from pathlib import Path

import pytest

import ftpenv
import tlsclients
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only

VIP = "127.0.54.1"
LB_SOURCE = "127.0.54.2"
RECEIVER = "127.0.54.11"
SERVER_PORT = 2121
CLIENT = "127.0.54.99"
SERVER_PASSIVE = (47800, 47849)
LB_PASSIVE = (47900, 47949)
MODES = ["pasv", "epsv", "port", "eprt"]
LOG_RE = re.compile(r"pp-client=(\S+):(\d+) fe=(\S+)")


def haproxy_config(log_path: Path) -> str:
    return f"""
global
    log stdout format raw local0 info
defaults
    mode tcp
    log global
    option logasap
    log-format "pp-client=%ci:%cp fe=%ft"
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend control
    bind {RECEIVER}:21 accept-proxy
    default_backend vsftpd
backend vsftpd
    source {LB_SOURCE}
    server s1 {RECEIVER}:{SERVER_PORT}
"""


def ftplb_config(mode: str, tls: str = "") -> str:
    return f"""log_level: debug
virtual_services:
  - name: proxied
    listen: {VIP}:21
    passive_ports: {LB_PASSIVE[0]}-{LB_PASSIVE[1]}
    source_address: {LB_SOURCE}
    client_address: {mode}
    health_check: {{ type: ftp, interval: 500ms, timeout: 400ms, rise: 1, fall: 2 }}{tls}
    servers:
      - name: behind-haproxy
        address: {RECEIVER}:21
"""


@pytest.fixture
def receiver(workdir, big_file, ftp_user):
    """vsftpd behind HAProxy with accept-proxy; yields HAProxy and the server's root."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.fail("haproxy is not installed (scripts/install-test-deps.sh installs it)")
    root = workdir / "pp-root"
    root.mkdir(exist_ok=True)
    ftpenv.populate_root(root, "pp", big_file.path)
    server = ftpenv.start_vsftpd(workdir, "pp-vsftpd", RECEIVER, SERVER_PORT, SERVER_PASSIVE, root, tls=False)
    config = workdir / "pp-haproxy.cfg"
    config.write_text(haproxy_config(workdir / "pp-haproxy.log"))
    proxy = ftpenv.ManagedProcess("pp-haproxy", [haproxy, "-db", "-f", str(config)],
                                  workdir / "pp-haproxy.log")
    try:
        ftpenv.wait_for_tcp(RECEIVER, 21, proc=proxy)
        yield proxy, root
    finally:
        proxy.stop()
        server.stop()


def control_log(proxy: ftpenv.ManagedProcess) -> list[tuple[str, str]]:
    """(client address, frontend) of every connection HAProxy logged."""
    return [(m.group(1), m.group(3)) for m in LOG_RE.finditer(proxy.log_text())]


@pytest.mark.parametrize("version", ["proxy_protocol_v1", "proxy_protocol_v2"])
def test_servers_see_the_real_client_in_every_mode(version, receiver, workdir, scratch, big_file):
    """Behind ftplb, HAProxy reads the client's own address from the header of every control
    connection; downloads and uploads in PASV, EPSV, PORT and EPRT arrive intact, so no
    header reached a data connection; health checks pass through the receiver."""
    proxy, root = receiver
    config = workdir / f"pp-ftplb-{version}.yaml"
    config.write_text(ftplb_config(version))
    balancer = ftpenv.start_ftplb_file(workdir, f"pp-ftplb-{version}", config, [(VIP, 21)])
    try:
        for mode in MODES:
            download = scratch / f"down-{mode}.bin"
            upload_name = f"up-{version}-{mode}.bin"
            ftp = ftpenv.open_ftp(VIP, 21, mode, source=CLIENT)
            try:
                ftpenv.ftplib_retrieve(ftp, "big.bin", download)
                ftpenv.ftplib_store(ftp, big_file.path, upload_name)
                ftp.quit()
            finally:
                ftp.close()
            assert ftpenv.sha256_file(download) == big_file.sha256, mode
            assert ftpenv.sha256_file(root / upload_name) == big_file.sha256, f"{mode}: upload differs"
        sessions = [client for client, frontend in control_log(proxy)
                    if frontend == "control" and client == CLIENT]
        # One control connection per mode, each from the client's own address.
        assert len(sessions) >= len(MODES), proxy.log_tail()
        # The balancer's own address appears only for its health checks (LOCAL headers),
        # never in place of a client.
        control_clients = {client for client, frontend in control_log(proxy) if frontend == "control"}
        assert control_clients <= {CLIENT, LB_SOURCE}, control_clients
        assert "server is down" not in balancer.log_text(), balancer.log_tail()
    finally:
        balancer.stop()


def test_without_a_header_the_receiver_refuses_and_the_server_is_marked_down(receiver, workdir):
    """The control: with client_address none, HAProxy's accept-proxy drops the connections,
    the health checks fail, and the client gets the 421 instead of a session."""
    proxy, _ = receiver
    config = workdir / "pp-ftplb-none.yaml"
    config.write_text(ftplb_config("none"))
    balancer = ftpenv.start_ftplb_file(workdir, "pp-ftplb-none", config, [(VIP, 21)])
    try:
        deadline = time.monotonic() + 10
        while "server is down" not in balancer.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "server is down" in balancer.log_text(), balancer.log_tail()
        with ftpenv.Control(VIP, 21, source=CLIENT) as control:
            reply = control.greeting
        assert reply is not None and reply.code == 421, reply
    finally:
        balancer.stop()


@pytest.mark.parametrize("mode", ["pasv", "port"])
def test_ftps_clients_reach_the_receiver_with_their_own_address(receiver, workdir, ftps_pki, mode):
    """FTPS towards the client (TLS ends at the balancer) and the PROXY protocol towards the
    server: HAProxy reads the FTPS client's own address, and a protected download and upload
    arrive whole, each data connection resuming the control connection's TLS session."""
    proxy, root = receiver
    tls = (f"\n    tls: {{ mode: explicit, certificate: {ftps_pki.server.chain}, "
           f"private_key: {ftps_pki.server.key} }}")
    config = workdir / f"pp-ftplb-ftps-{mode}.yaml"
    config.write_text(ftplb_config("proxy_protocol_v2", tls))
    balancer = ftpenv.start_ftplb_file(workdir, f"pp-ftplb-ftps-{mode}", config, [(VIP, 21)])
    ftp = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), mode=mode, server_hostname="ftps.test")
    ftp.source_address = (CLIENT, 0)
    try:
        ftp.connect(VIP, 21)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
        marker = f"ftps behind the PROXY protocol, {mode}\n".encode() * 1000
        ftp.storbinary(f"STOR pp-ftps-{mode}.txt", io.BytesIO(marker))
        chunks: list[bytes] = []
        ftp.retrbinary(f"RETR pp-ftps-{mode}.txt", chunks.append)
        assert b"".join(chunks) == marker
        ftp.quit()
    finally:
        ftp.close()
        balancer.stop()
    assert (root / f"pp-ftps-{mode}.txt").read_bytes() == marker
    assert len(ftp.data_tls) == 2 and all(d.session_reused for d in ftp.data_tls), ftp.data_tls
    assert CLIENT in [client for client, frontend in control_log(proxy) if frontend == "control"], proxy.log_tail()
