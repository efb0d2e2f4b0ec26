"""The FTPS peers straight to each other, no balancer: the test CA, vsftpd, ProFTPD, pure-ftpd
and pyftpdlib as FTPS servers, and ftplib, curl and lftp as FTPS clients, under TLS 1.2 and
1.3. These are the baselines of the balancer's FTPS tests: what each pair does on its own,
quirks included, and that a capture of an FTPS session holds none of its secrets.

Addresses: tlsservers.py (127.0.121.11-16, passive ports 52640-52799).
"""

from __future__ import annotations

import ftplib
import hashlib
import io
import os
import ssl

import pytest

import ftpenv
import tlsclients
import tlscapture
import tlsfixtures
from tlsfixtures import ftps_pki  # noqa: F401  (fixtures)
from tlsservers import EXPLICIT_SERVERS, ftps_servers  # noqa: F401

VERSIONS = ("1.2", "1.3")
SMALL = b"a small file\r\nwith two lines\r\n"  # ftpenv.populate_root's small.txt
# pure-ftpd resumes TLS 1.2 sessions but never a TLS 1.3 one (it does not require it).
NOT_RESUMED = {("pure-ftpd", "1.3")}


def test_certificates_are_what_they_claim(ftps_pki):
    """The server certificate chains to the test CA and its key matches; the untrusted one
    does not chain to it; the mismatched key belongs to no server certificate."""
    assert tlsfixtures.verify(ftps_pki.server.cert, ftps_pki.ca_cert)
    assert not tlsfixtures.verify(ftps_pki.untrusted.cert, ftps_pki.ca_cert)
    assert tlsfixtures.verify(ftps_pki.untrusted.cert, ftps_pki.other_ca_cert)
    assert tlsfixtures.key_matches(ftps_pki.server.cert, ftps_pki.server.key)
    assert not tlsfixtures.key_matches(ftps_pki.server.cert, ftps_pki.mismatched_key)
    assert not tlsfixtures.key_matches(ftps_pki.untrusted.cert, ftps_pki.mismatched_key)


def test_client_checks_the_server_name(ftps_servers, ftps_pki):
    """A client trusting the test CA refuses the server under a name not in its
    certificate, and one trusting only the unrelated CA refuses it outright."""
    server = ftps_servers.get("vsftpd")
    wrong = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), server_hostname="other.test")
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        wrong.connect(server.host, server.port)
        wrong.auth()
    wrong.close()
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        tlsclients.open_ftps(server.host, server.port, ftps_pki.other_ca_cert)


def test_untrusted_server_is_refused(ftps_servers, ftps_pki, workdir):
    """The server with the unrelated CA's certificate: refused by ftplib and curl trusting
    the test CA, served to ftplib trusting the unrelated CA."""
    server = ftps_servers.get("vsftpd-untrusted")
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert)
    result = tlsclients.curl_ftps(server.host, server.port, "small.txt", "pasv", ftps_pki.ca_cert,
                                  extra=["-o", str(workdir / "curl-untrusted.txt")])
    assert result.returncode == 60, result.describe()  # CURLE_PEER_FAILED_VERIFICATION
    ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.other_ca_cert)
    session_round(ftp, b"trusted by the other CA")
    ftp.quit()


PLAIN_REFUSAL = {"vsftpd": "530 Non-anonymous sessions must use encryption",
                 "proftpd": "550 SSL/TLS required on the control channel",
                 "pure-ftpd": "421-Sorry, cleartext sessions and weak ciphers are not accepted"}


@pytest.mark.parametrize("name", list(PLAIN_REFUSAL))
def test_plain_login_is_refused(ftps_servers, name):
    """The servers that require TLS refuse a login in clear (pyftpdlib's allows it)."""
    server = ftps_servers.get(name)
    ftp = ftpenv.FTPClient(timeout=10)
    ftp.connect(server.host, server.port)
    with pytest.raises(ftplib.Error) as refused:
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
    ftp.close()
    assert str(refused.value).startswith(PLAIN_REFUSAL[name]), refused.value
    assert not any(reply.startswith("230") for reply in ftp.received), ftp.received


def assert_logged(server, offset: int, version: str, data_connections: int) -> None:
    """The servers that log it (vsftpd, ProFTPD) saw only TLS `version` from log byte
    `offset` on, and that many data connections, each resuming the control session."""
    if server.tls_log is not None:
        assert server.data_resumptions(offset) == [True] * data_connections
        assert server.tls_versions(offset) == {f"TLSv{version}"}


def session_round(ftp: tlsclients.FTPSClient, marker: bytes) -> None:
    """LIST, RETR small.txt, STOR a marker and RETR it back, over protected data."""
    listing: list[str] = []
    ftp.retrlines("LIST", listing.append)
    assert any("small.txt" in line for line in listing), listing
    got = io.BytesIO()
    ftp.retrbinary("RETR small.txt", got.write)
    assert got.getvalue() == SMALL
    name = f"marker-{ftp.mode}-{os.getpid()}.txt"
    ftp.storbinary(f"STOR {name}", io.BytesIO(marker))
    back = io.BytesIO()
    ftp.retrbinary(f"RETR {name}", back.write)
    assert back.getvalue() == marker


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", EXPLICIT_SERVERS + ("vsftpd-implicit",))
def test_python_data_connections_resume_the_control_session(ftps_servers, ftps_pki, name, version):
    """ftplib with session reuse: every data connection is protected, of the pinned TLS
    version, and resumes the control session (pure-ftpd under TLS 1.3: never resumed);
    the servers that log it agree."""
    server = ftps_servers.get(name)
    offset = server.tls_log_size()
    ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert, tls_version=version,
                               implicit=server.plan.implicit)
    assert ftp.control_version() == f"TLSv{version}"
    session_round(ftp, os.urandom(16).hex().encode())
    ftp.quit()
    resumed = (name, version) not in NOT_RESUMED
    assert ftp.data_tls and all(d.version == f"TLSv{version}" and d.session_reused == resumed
                                for d in ftp.data_tls), ftp.data_tls
    assert_logged(server, offset, version, len(ftp.data_tls))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["vsftpd", "proftpd"])
def test_stock_ftp_tls_is_refused_where_reuse_is_required(ftps_servers, ftps_pki, name, version):
    """Python's own FTP_TLS starts a new TLS session per data connection: vsftpd
    (require_ssl_reuse) answers 522, ProFTPD 425; and the reusing client is not refused."""
    server = ftps_servers.get(name)
    ftp = tlsclients.open_stock_ftps(server.host, server.port, ftps_pki.ca_cert, tls_version=version)
    with pytest.raises(ftplib.Error) as refused:
        ftp.retrbinary("RETR small.txt", lambda data: None)
    ftp.close()
    expected = "522 SSL connection failed: session reuse required" if name == "vsftpd" else "425 "
    assert str(refused.value).startswith(expected), refused.value


def checks_code(mode: str) -> str:
    return "227" if mode == "pasv" else "229"


@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_python_every_data_mode(ftps_servers, ftps_pki, mode):
    """PASV, EPSV, PORT and EPRT under TLS 1.3 against vsftpd and ProFTPD, both requiring reuse."""
    for name in ("vsftpd", "proftpd"):
        server = ftps_servers.get(name)
        ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert, mode=mode, tls_version="1.3")
        session_round(ftp, f"{name} {mode}".encode())
        ftp.quit()
        if mode in ftpenv.PASSIVE_MODES:
            assert [reply[:3] for reply in ftp.data_replies] == [checks_code(mode)] * len(ftp.data_tls)
        assert len(ftp.data_tls) == 4 and all(d.session_reused for d in ftp.data_tls), (name, ftp.data_tls)


@pytest.mark.parametrize("name", ["vsftpd", "proftpd", "pure-ftpd"])
def test_python_rest_and_abor(ftps_servers, ftps_pki, big_file, name):
    """REST then RETR gives the rest of the file; ABOR in the middle of a protected RETR
    ends it, and the session goes on with a new resumed data connection."""
    server = ftps_servers.get(name)
    ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert, tls_version="1.2")
    # vsftpd: 426 then 225; ProFTPD: 426 and 226 in either order; pure-ftpd: its 226 only.
    replies = ftp.rest_then_abort("small.txt", 5, SMALL, with_426=name != "pure-ftpd")
    assert replies[-1][:3] in ("225", "226", "426"), replies
    session_round(ftp, b"after ABOR")
    ftp.quit()
    assert all(d.session_reused for d in ftp.data_tls), ftp.data_tls


def test_python_64_mib_both_ways(ftps_servers, ftps_pki, big_file, workdir):
    """The big file RETR and STOR through vsftpd under TLS 1.3 with reuse, equal sha256."""
    server = ftps_servers.get("vsftpd")
    ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert, tls_version="1.3")
    digest = hashlib.sha256()
    ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
    assert digest.hexdigest() == big_file.sha256
    ftpenv.ftplib_store(ftp, big_file.path, "python-upload.bin")
    ftp.quit()
    assert ftpenv.sha256_file(server.root / "python-upload.bin") == big_file.sha256
    assert len(ftp.data_tls) == 2 and all(d.session_reused for d in ftp.data_tls), ftp.data_tls


def curl_round(server, pki, workdir, mode: str, version: str, path: str, upload: bool) -> None:
    """One curl download of `path` (or upload of it) over FTPS, checked by sha256, and the
    reuse curl reports (and the server logs, where it does)."""
    offset = server.tls_log_size()
    local = workdir / f"curl-{server.name}-{mode}-{version}.bin"
    if upload:
        extra = ["-T", str(local)]
        ftpenv.make_random_file(local, 256 * 1024)
    else:
        extra = ["-o", str(local)]
    result = tlsclients.curl_ftps(server.host, server.port, path, mode, pki.ca_cert,
                                  implicit=server.plan.implicit, tls_version=version, extra=extra).check()
    assert "PROT P" in result.sent() and ftpenv.MODE_VERB[mode] in result.verbs(), result.describe()
    remote = server.root / path
    assert ftpenv.sha256_file(local) == ftpenv.sha256_file(remote)
    resumed = (server.plan.name, version) not in NOT_RESUMED
    assert tlsclients.curl_reused_sessions(result) == (1 if resumed else 0), result.describe()
    assert_logged(server, offset, version, 1)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["vsftpd", "proftpd", "pure-ftpd", "vsftpd-implicit"])
def test_curl_explicit_and_implicit(ftps_servers, ftps_pki, workdir, name, version):
    """curl --ssl-reqd ftp:// (and ftps:// for implicit) downloads with PASV and uploads with
    EPSV; vsftpd uploads only under TLS 1.2 (see the README's peer notes)."""
    server = ftps_servers.get(name)
    curl_round(server, ftps_pki, workdir, "pasv", version, "small.txt", upload=False)
    if not (server.kind == "vsftpd" and version == "1.3"):
        curl_round(server, ftps_pki, workdir, "epsv", version, f"curl-up-{version}.bin", upload=True)


def test_curl_64_mib_both_ways(ftps_servers, ftps_pki, big_file, workdir):
    """curl: the big file down from vsftpd under TLS 1.3 and up to ProFTPD under TLS 1.3."""
    vsftpd, proftpd = ftps_servers.get("vsftpd"), ftps_servers.get("proftpd")
    down = workdir / "curl-big-down.bin"
    result = tlsclients.curl_ftps(vsftpd.host, vsftpd.port, "big.bin", "epsv", ftps_pki.ca_cert,
                                  tls_version="1.3", extra=["-o", str(down)]).check()
    assert tlsclients.curl_reused_sessions(result) == 1 and ftpenv.sha256_file(down) == big_file.sha256
    result = tlsclients.curl_ftps(proftpd.host, proftpd.port, "curl-big-up.bin", "pasv", ftps_pki.ca_cert,
                                  tls_version="1.3", extra=["-T", str(big_file.path)]).check()
    assert tlsclients.curl_reused_sessions(result) == 1
    assert ftpenv.sha256_file(proftpd.root / "curl-big-up.bin") == big_file.sha256


@pytest.mark.xfail(strict=True, reason="curl 7.87-7.88 cannot do active FTPS (curl issue 10666): "
                   "it accepts the data connection and never starts TLS on it")
def test_curl_active_ftps(ftps_servers, ftps_pki, workdir):
    server = ftps_servers.get("proftpd")
    tlsclients.curl_ftps(server.host, server.port, "small.txt", "port", ftps_pki.ca_cert,
                         extra=["-o", str(workdir / "curl-active.txt")], timeout=3).check()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", EXPLICIT_SERVERS + ("vsftpd-implicit",))
def test_lftp_every_server(ftps_servers, ftps_pki, workdir, name, version):
    """lftp (GnuTLS) with ssl-force and ssl-protect-data: get, put and ls through every
    server, PASV for TLS 1.2 and PORT for 1.3; the servers that log it saw every data
    connection resume the control session."""
    server = ftps_servers.get(name)
    offset = server.tls_log_size()
    mode = "pasv" if version == "1.2" else "port"
    down, up = workdir / f"lftp-{name}-{version}.txt", f"lftp-{name}-{version}.txt"
    result = tlsclients.lftp_ftps(server.host, server.port, mode, [f"get small.txt -o {down}", f"put {down} -o {up}",
                                  "ls"], workdir, ftps_pki.ca_cert, implicit=server.plan.implicit,
                                  tls_version=version).check()
    assert "PROT P" in result.sent() and ftpenv.MODE_VERB[mode] in result.verbs(), result.describe()
    assert down.read_bytes() == SMALL and (server.root / up).read_bytes() == SMALL
    assert_logged(server, offset, version, 3)


def test_lftp_64_mib_both_ways(ftps_servers, ftps_pki, big_file, workdir):
    """lftp: the big file down and up through ProFTPD under TLS 1.3, EPSV, resumed."""
    server = ftps_servers.get("proftpd")
    offset = server.tls_log_size()
    down = workdir / "lftp-big-down.bin"
    tlsclients.lftp_ftps(server.host, server.port, "epsv", [f"get big.bin -o {down}",
                         f"put {big_file.path} -o lftp-big-up.bin"], workdir, ftps_pki.ca_cert,
                         tls_version="1.3").check()
    assert ftpenv.sha256_file(down) == big_file.sha256
    assert ftpenv.sha256_file(server.root / "lftp-big-up.bin") == big_file.sha256
    assert_logged(server, offset, "1.3", 2)


@pytest.mark.parametrize("protected", [True, False], ids=["ftps", "plain"])
def test_capture_shows_secrets_only_in_clear(ftps_servers, ftps_pki, workdir, protected):
    """A capture of an FTPS session holds neither the login, the commands nor the file's
    bytes; the same session in plain FTP (pyftpdlib allows both) shows them all."""
    server = ftps_servers.get("pyftpdlib")
    secret = f"capture-marker-{os.urandom(8).hex()}\n".encode()
    (server.root / "secret.txt").write_bytes(secret)
    needles = {"USER": f"USER {ftpenv.FTP_USER}\r\n".encode(), "PASS": f"PASS {ftpenv.FTP_PASSWORD}\r\n".encode(),
               "RETR": b"RETR secret.txt\r\n", "file bytes": secret}
    expression = tlscapture.server_expression(server.host, server.port, server.passive_ports)
    path = workdir / f"capture-{'ftps' if protected else 'plain'}.pcap"
    with tlscapture.Capture(path, expression, (server.host, server.port)) as capture:
        if protected:
            ftp = tlsclients.open_ftps(server.host, server.port, ftps_pki.ca_cert)
        else:
            ftp = ftpenv.open_ftp(server.host, server.port)
        got = io.BytesIO()
        ftp.retrbinary("RETR secret.txt", got.write)
        ftp.quit()
    assert got.getvalue() == secret
    assert capture.packet_count() > 10, capture.log_text()
    found = capture.found_in_clear(needles)
    assert found == ([] if protected else list(needles)), found
