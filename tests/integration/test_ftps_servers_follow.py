"""`server_tls` that follows the client: `protection: client` passes the client's own PROT on to
the server when it changes, and `mode: match_client` speaks TLS to the server only for clients
whose control connection is TLS. The server is vsftpd offering TLS without requiring it (so its
TLS log shows what the balancer chose); its debug_ssl lines name every TLS connection, control
and data. Addresses: `srvtlsbed.py`.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
from typing import Iterator

import ftpenv
import tlsclients
from srvtlsbed import balancer_on, servers  # noqa: F401  (fixtures)
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

SMALL = b"a small file\r\nwith two lines\r\n"


def client_tls(pki) -> dict:
    return {"mode": "explicit", "certificate": str(pki.server.chain), "private_key": str(pki.server.key)}


@contextlib.contextmanager
def logged_in(pki, host: str, mode: str = "pasv") -> Iterator[tlsclients.FTPSClient]:
    """An FTPS session (AUTH TLS, login) to the balancer; QUIT at the end."""
    ftp = tlsclients.FTPSClient(tlsclients.client_context(pki.ca_cert), mode=mode, server_hostname="ftps.test",
                                timeout=60)
    try:
        ftp.connect(host, 21)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        yield ftp
        ftp.quit()
    finally:
        ftp.close()


def download_small(ftp) -> None:
    data = io.BytesIO()
    ftp.retrbinary("RETR small.txt", data.write)
    assert data.getvalue() == SMALL


def test_protection_client_passes_each_change_of_prot_on(servers, balancer_on, ftps_pki):
    """PROT P, then C, then P again from an FTPS client: the server's log gains a resumed TLS
    data connection for each protected download and none for the clear one, and the balancer
    never logs a refused level."""
    server = servers("vsftpd-lenient")
    host, process = balancer_on(8, server, {"mode": "explicit", "protection": "client", "ca": str(ftps_pki.ca_cert)},
                                tls=client_tls(ftps_pki), passive_base=53200)
    with logged_in(ftps_pki, host) as ftp:
        offset = server.tls_log_size()  # after the control connection's own line
        seen = []
        for level in ("P", "C", "P"):
            ftp.prot_p() if level == "P" else ftp.prot_c()
            download_small(ftp)
            seen.append(server.data_resumptions(offset))
    assert [len(s) for s in seen] == [1, 1, 2], seen
    assert all(seen[-1]), seen
    assert [d.session_reused for d in ftp.data_tls] == [True, True], ftp.data_tls
    assert "refused the client's protection level" not in process.log_text()


def test_protection_client_against_a_server_that_requires_protected_data(servers, balancer_on, ftps_pki):
    """vsftpd requiring TLS for login and data and resumed sessions: a client's PROT P reaches
    it before the transfer, so a protected download arrives; the client's PROT C reaches it
    too, and its refusal of the clear transfer is the client's to read."""
    server = servers("vsftpd")
    offset = server.tls_log_size()
    host, _ = balancer_on(9, server, {"mode": "explicit", "protection": "client", "ca": str(ftps_pki.ca_cert)},
                          tls=client_tls(ftps_pki), passive_base=53210)
    with logged_in(ftps_pki, host) as ftp:
        ftp.prot_p()
        download_small(ftp)
        ftp.prot_c()
        try:
            download_small(ftp)
            refusal = None
        except (ftplib.error_perm, ftplib.error_temp) as error:
            refusal = str(error)
        assert ftp.voidcmd("NOOP").startswith("200")
    assert refusal is not None and refusal[:1] == "5", refusal
    resumptions = server.data_resumptions(offset)
    assert resumptions and all(resumptions), resumptions


def test_match_client_speaks_tls_to_the_server_only_for_tls_clients(servers, balancer_on, ftps_pki):
    """match_client: a plain client's session leaves no TLS connection in the server's log; an
    FTPS client's session is TLS to the server too, its protected download resuming there."""
    server = servers("vsftpd-lenient")
    host, process = balancer_on(8, server, {"mode": "match_client", "ca": str(ftps_pki.ca_cert)},
                                tls=client_tls(ftps_pki), passive_base=53200)
    offset = server.tls_log_size()
    with ftpenv.open_ftp(host, 21, mode="pasv") as plain:
        download_small(plain)
        plain.quit()
    assert server.tls_versions(offset) == set(), "a plain client's session reached the server over TLS"
    assert "server TLS established" not in process.log_text()

    with logged_in(ftps_pki, host, mode="port") as ftp:
        ftp.prot_p()
        download_small(ftp)
    assert server.tls_versions(offset) == {"TLSv1.3"}
    resumptions = server.data_resumptions(offset)
    assert resumptions and all(resumptions), resumptions
    assert process.log_text().count("server TLS established") == 1
