"""FTPS towards the servers (`server_tls:`): the balancer sends AUTH TLS, PBSZ and PROT
itself, verifies the server's certificate against `ca`, and its data connections to the
server resume the server control connection's TLS session, which vsftpd
(`require_ssl_reuse=YES`) and ProFTPD mod_tls require. The clients speak plain FTP
(FTP->FTPS); the servers refuse login and data without TLS, so a transfer that arrives whole
proves the whole chain.

Addresses: `srvtlsbed.py`.
"""

from __future__ import annotations

import hashlib
import io
import time

import pytest

import ftpenv
import tlsclients
from srvtlsbed import balancer_on, servers  # noqa: F401  (fixtures)
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)


def transfer_both_ways(host: str, mode: str, big_file, workdir) -> None:
    """LIST, and RETR and STOR of the big file through the balancer; both arrive whole."""
    with ftpenv.open_ftp(host, 21, mode=mode, timeout=120) as ftp:
        listing: list[str] = []
        ftp.retrlines("LIST", listing.append)
        assert any("big.bin" in line for line in listing), listing
        digest = hashlib.sha256()
        ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
        assert digest.hexdigest() == big_file.sha256
        ftpenv.ftplib_store(ftp, big_file.path, f"up-{mode}.bin")
        assert ftp.size(f"up-{mode}.bin") == big_file.size
        stored = hashlib.sha256()
        ftp.retrbinary(f"RETR up-{mode}.bin", stored.update, blocksize=256 * 1024)
        assert stored.hexdigest() == big_file.sha256
        ftp.quit()


@pytest.mark.parametrize("kind,mode", [("vsftpd", "pasv"), ("vsftpd", "epsv"), ("vsftpd", "port"),
                                       ("vsftpd", "eprt"), ("proftpd", "pasv"), ("proftpd-tls12", "port"),
                                       ("pure-ftpd", "epsv")])
def test_plain_client_moves_the_big_file_through_an_ftps_server(servers, balancer_on, ftps_pki, big_file,
                                                                workdir, kind, mode):
    """A plain FTP client behind explicit server_tls: LIST, and 64 MiB RETR and STOR arrive
    whole, and every data connection the server logged resumed the control connection's session
    (pure-ftpd logs none, but refuses clear data: the transfers arriving is its proof; it keeps
    no TLS session cache, so the balancer's data connections offer the session and it starts a
    new one, which the balancer logs)."""
    server = servers(kind)
    offset = server.tls_log_size()
    host, process = balancer_on(1, server, {"mode": "explicit", "ca": str(ftps_pki.ca_cert)})
    transfer_both_ways(host, mode, big_file, workdir)
    if kind != "pure-ftpd":
        resumptions = server.data_resumptions(offset)  # data connections: LIST, RETR, STOR, RETR
        assert server.tls_versions(offset) == ({"TLSv1.2"} if kind == "proftpd-tls12" else {"TLSv1.3"})
        assert len(resumptions) >= 4 and all(resumptions), resumptions
    log = process.log_text()
    assert "server TLS established" in log
    assert ("did not resume" in log) == (kind == "pure-ftpd")


def test_the_servers_replies_to_the_balancers_own_commands_never_reach_the_client(servers, balancer_on, ftps_pki):
    """The client gets the greeting and its own replies; AUTH, PBSZ and PROT were the
    balancer's, and a PROT of its own is answered by the server behind TLS."""
    host, _ = balancer_on(2, servers("vsftpd"), {"mode": "explicit", "ca": str(ftps_pki.ca_cert)})
    with ftpenv.Control(host, 21) as control:
        assert control.greeting.code == 220
        assert control.pending_reply(wait=0.5) is None  # no 234 or 200 of the balancer's commands
        assert control.cmd("USER ftptest").code == 331
        assert control.cmd(f"PASS {ftpenv.FTP_PASSWORD}").code == 230
        assert control.cmd("PROT C").code == 534  # never reaches the server the balancer secured
        assert control.pending_reply(wait=0.5) is None


def test_implicit_server_on_port_990(servers, balancer_on, ftps_pki, big_file):
    """mode: implicit: TLS from the connect; the greeting comes over it; a small and a big
    download arrive whole."""
    host, process = balancer_on(3, servers("vsftpd-implicit"), {"mode": "implicit", "ca": str(ftps_pki.ca_cert)})
    with ftpenv.open_ftp(host, 21, mode="pasv", timeout=120) as ftp:
        small = io.BytesIO()
        ftp.retrbinary("RETR small.txt", small.write)
        assert small.getvalue() == b"a small file\r\nwith two lines\r\n"
        digest = hashlib.sha256()
        ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
        assert digest.hexdigest() == big_file.sha256
        ftp.quit()


def test_a_server_certificate_from_another_ca_ends_the_session_with_421(servers, balancer_on, ftps_pki):
    """The untrusted server's certificate fails verification: the client gets a 421 (never
    a login prompt), and the log names the server and the reason."""
    server = servers("vsftpd-untrusted")
    host, process = balancer_on(4, server, {"mode": "explicit", "ca": str(ftps_pki.ca_cert)})
    with ftpenv.Control(host, 21) as control:
        assert control.greeting.code == 220
        control.send("USER ftptest")
        reply = control.read_reply(timeout=15)
        assert reply is not None and reply.code == 421, reply
    log = process.log_text()
    assert "cannot secure the connection to the server" in log
    assert "TLS handshake failed" in log and server.host in log


def test_verify_false_accepts_the_untrusted_server_and_warns(servers, balancer_on):
    """verify: false: the same server is accepted, and the start-up log says the
    certificates are not verified."""
    host, process = balancer_on(5, servers("vsftpd-untrusted"), {"mode": "explicit", "verify": False})
    with ftpenv.open_ftp(host, 21, mode="pasv") as ftp:
        assert "server-id" in " ".join(ftp.nlst())
        ftp.quit()
    assert "server_tls.verify is false" in process.log_text()


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_ftps_client_through_to_an_ftps_server(servers, balancer_on, ftps_pki, big_file, mode):
    """FTPS->FTPS: the client's TLS ends at the balancer, which speaks its own to vsftpd;
    64 MiB downloaded and uploaded whole, LIST, REST and ABOR, the data connections resuming on
    both sides."""
    server = servers("vsftpd")
    offset = server.tls_log_size()
    tls = {"mode": "explicit", "certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    host, process = balancer_on(6, server, {"mode": "explicit", "ca": str(ftps_pki.ca_cert)}, tls=tls)
    ftp = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), mode=mode, server_hostname="ftps.test",
                                timeout=120)
    try:
        ftp.connect(host, 21)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
        digest = hashlib.sha256()
        ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
        assert digest.hexdigest() == big_file.sha256
        ftpenv.ftplib_store(ftp, big_file.path, f"up-tls-{mode}.bin")
        assert ftp.size(f"up-tls-{mode}.bin") == big_file.size
        assert hashlib.sha256((server.root / f"up-tls-{mode}.bin").read_bytes()).hexdigest() == big_file.sha256
        listing: list[str] = []
        ftp.retrlines("LIST", listing.append)
        assert any(f"up-tls-{mode}.bin" in line for line in listing), listing
        # REST, and ABOR in the middle of a protected RETR (vsftpd: 426, then 225).
        assert ftp.rest_then_abort("small.txt", 5, b"a small file\r\nwith two lines\r\n")[-1][:3] in ("225", "226")
        assert ftp.voidcmd("NOOP").startswith("200"), "a stale reply after ABOR"
        ftp.quit()
    finally:
        ftp.close()
    assert len(ftp.data_tls) == 5 and all(d.session_reused for d in ftp.data_tls), ftp.data_tls
    resumptions = server.data_resumptions(offset)
    assert resumptions and all(resumptions), resumptions
    assert "did not resume" not in process.log_text()


def wait_until(condition, timeout: float, what: str):
    """Polls `condition` until it returns something true (returned), at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


HEALTH_TIMING = {"interval": "4s", "timeout": "4s", "rise": 1, "fall": 1}


@pytest.mark.parametrize("kind,tls_mode,mode", [("vsftpd", "explicit", "passive"), ("vsftpd", "explicit", "active"),
                                                ("vsftpd-implicit", "implicit", "passive")])
def test_health_checks_speak_ftps_to_the_server(servers, balancer_on, ftps_pki, kind, tls_mode, mode):
    """ftp_transfer checks behind server_tls: TLS (AUTH TLS, or from the connect), PBSZ, PROT P,
    login and a download of the small file (its exact size) from vsftpd, which refuses login and
    data without TLS and data connections that do not resume; its log shows them resumed."""
    server = servers(kind)
    offset = server.tls_log_size()
    check = {"type": "ftp_transfer", "user": ftpenv.FTP_USER, "password": ftpenv.FTP_PASSWORD,
             "file": "small.txt", "size": 30, "mode": mode, **HEALTH_TIMING}
    _, process = balancer_on(7, server, {"mode": tls_mode, "ca": str(ftps_pki.ca_cert)}, health_check=check)
    resumptions = wait_until(lambda: len(r := server.data_resumptions(offset) or []) >= 2 and r,
                                    timeout=30, what="two checks' data connections in vsftpd's log")
    assert all(resumptions), resumptions
    log = process.log_text()
    assert "health check failed" not in log and "server is down" not in log, process.log_tail()


def test_a_health_check_against_an_untrusted_server_fails_in_words(servers, balancer_on, ftps_pki):
    """An ftp_login check of the server whose certificate another CA signed: the server is
    marked down, and the reason says the TLS handshake failed, not a raw library error."""
    check = {"type": "ftp_login", "user": ftpenv.FTP_USER, "password": ftpenv.FTP_PASSWORD, **HEALTH_TIMING}
    _, process = balancer_on(7, servers("vsftpd-untrusted"), {"mode": "explicit", "ca": str(ftps_pki.ca_cert)},
                             health_check=check)
    wait_until(lambda: "server is down" in process.log_text(), timeout=20, what="the server marked down")
    down = [line for line in process.log_text().splitlines() if "server is down" in line]
    assert "TLS handshake failed" in down[0] and "certificate" in down[0], down[0]
