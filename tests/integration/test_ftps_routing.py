"""FTPS edges: `per_user` (the balancer greets) answers AUTH TLS before USER,
so the user is read over TLS and the session placed by it; SNI picks a listener's second
certificate for a client that names it; a ClientHello sent in the same write as AUTH TLS
is not lost.

Address plan (inside the FTPS block of tlsservers.py): 127.0.121.5:21 (per_user, passive
52600-52604) and 127.0.121.6:21 (two certificates, passive 52600-52604); the plain vsftpd of
test_ftps.py behind both.
"""

from __future__ import annotations

import io

import pytest

import ftpenv
import tlsclients
from test_ftps import SMALL, backend, service  # noqa: F401  (fixture)
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only

PER_USER, SNI = "127.0.121.5", "127.0.121.6"
GREETING = "FTPS per user ready."


@pytest.fixture(scope="module")
def balancer(workdir, backend, ftps_pki):
    named = ftps_pki.issue("sni-files", names=["files.ftps.test"])
    cert = {"certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    per_user = service("ftps-per-user", f"{PER_USER}:21", (52600, 52604), {"mode": "explicit", **cert, "require": "login"})
    per_user.update(algorithm="per_user", per_user={"greeting": GREETING})
    sni = service("ftps-sni", f"{SNI}:21", (52600, 52604),
                  {"mode": "explicit", **cert, "sni": [{"certificate": str(named.chain), "private_key": str(named.key)}]})
    config = workdir / "ftps-routing.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([per_user, sni]))
    process = ftpenv.start_ftplb_file(workdir, "ftps-routing", config, [(PER_USER, 21), (SNI, 21)])
    yield process, named
    process.stop()


def test_per_user_reads_the_user_over_tls(balancer, ftps_pki):
    """The balancer's greeting, then AUTH TLS answered by the balancer; USER in clear is
    refused (require: login), USER over TLS places the session and the transfer is protected."""
    with ftpenv.Control(PER_USER, 21) as ctl:
        assert ctl.greeting.text == f"220 {GREETING}"
        assert ctl.cmd(f"USER {ftpenv.FTP_USER}").text.startswith("530 Log in over TLS")
    ftp = tlsclients.open_ftps(PER_USER, 21, ftps_pki.ca_cert)
    assert ftp.welcome == f"220 {GREETING}"
    got = io.BytesIO()
    ftp.retrbinary("RETR small.bin", got.write)
    ftp.quit()
    assert got.getvalue() == SMALL and ftp.data_tls[0].session_reused


def test_sni_chooses_the_certificate_that_names_the_server(balancer, ftps_pki):
    """A client that asks for files.ftps.test gets that certificate; one that names the
    address gets the service's own."""
    _, named = balancer
    by_name = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), server_hostname="files.ftps.test")
    by_name.connect(SNI, 21)
    by_name.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
    assert by_name.sock.getpeercert()["subjectAltName"] == (("DNS", "files.ftps.test"),)
    by_name.quit()
    by_address = tlsclients.open_ftps(SNI, 21, ftps_pki.ca_cert)
    assert ("IP Address", SNI) in by_address.sock.getpeercert()["subjectAltName"]
    by_address.quit()


@pytest.mark.parametrize("vip,before", [(PER_USER, b""), (SNI, b"NOOP\r\n")], ids=["at-once", "after-a-reply"])
def test_a_client_hello_sent_with_the_auth_line_goes_into_tls(balancer, ftps_pki, vip, before):
    """AUTH TLS and the TLS ClientHello in one write: the 234 comes in clear, and the hello
    the balancer had already read after the AUTH line is the start of the handshake, whether
    the AUTH is answered at once or only after the server's reply to a command before it."""
    import socket
    import ssl
    context = tlsclients.client_context(ftps_pki.ca_cert)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=vip)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    with socket.create_connection((vip, 21), timeout=10) as sock:
        assert clear_line(sock).startswith(b"220")
        sock.sendall(before + b"AUTH TLS\r\n" + hello)
        if before:
            assert clear_line(sock)[:1] in (b"2", b"5")
        assert clear_line(sock).startswith(b"234 ")
        for _ in range(50):  # the handshake's round trips, bounded
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                data = sock.recv(65536)
                assert data, "the balancer closed during the handshake"
                incoming.write(data)
        if outgoing.pending:
            sock.sendall(outgoing.read())
        tls.write(b"PBSZ 0\r\n")
        sock.sendall(outgoing.read())
        reply = b""
        for _ in range(50):
            try:
                reply += tls.read(4096)
            except ssl.SSLWantReadError:
                incoming.write(sock.recv(65536))
            if reply.endswith(b"\r\n"):
                break
        assert reply == b"200 PBSZ=0\r\n", reply


def clear_line(sock) -> bytes:
    """One reply line read byte by byte: nothing of the TLS bytes after it is taken."""
    line = b""
    for _ in range(1000):
        byte = sock.recv(1)
        if not byte:
            break
        line += byte
        if line.endswith(b"\r\n"):
            break
    return line
