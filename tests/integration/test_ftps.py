"""FTPS through the balancer (FTPS->FTP): ftplb terminates the clients' TLS, explicit (AUTH TLS)
and implicit, and relays to a plain vsftpd. Every data mode with PROT P, the session-reuse
rule (the client's own sessions resumed, stock ftplib and another FTP session's TLS session
refused with 425), require login/data, a capture with nothing in clear, big files both ways.

Address plan (inside the FTPS block of tlsservers.py, 127.0.121.1-9 and 52600-52639):
    127.0.121.1:21     explicit FTPS, session_reuse required      passive 52600-52609
    127.0.121.2:990    implicit FTPS                               passive 52610-52614
    127.0.121.3:21     explicit, require data, session_reuse preferred   passive 52615-52619
    127.0.121.9:21     the plain vsftpd behind them                passive 52620-52639
"""

from __future__ import annotations

import hashlib
import io
import ftplib
import os
import time

import pytest

import ftpenv
import tlscapture
import tlsclients
from conftest import BALANCER_SOURCE
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only

EXPLICIT, IMPLICIT, STRICT, SERVER = "127.0.121.1", "127.0.121.2", "127.0.121.3", "127.0.121.9"
MODES = ("pasv", "epsv", "port", "eprt")
SMALL = b"ftps through the balancer\n" * 100


@pytest.fixture(scope="module")
def backend(workdir, big_file, ftp_user):
    """vsftpd in clear: unlike pyftpdlib, it tells a reset upload (426) from a complete one."""
    root = workdir / "root-ftps-backend"
    ftpenv.populate_root(root, "ftps-backend", big_file.path)
    (root / "small.bin").write_bytes(SMALL)
    (root / "small.bin").chmod(0o644)
    server = ftpenv.start_vsftpd(workdir, "ftps-backend", SERVER, 21, (52620, 52639), root, tls=False)
    yield server
    server.stop()


def service(name: str, listen: str, passive: tuple[int, int], tls: dict) -> dict:
    return {
        "name": name, "listen": listen, "advertise": listen.split(":")[0], "passive_ports": passive,
        "source_address": BALANCER_SOURCE, "health_check": {"type": "none"},
        "servers": [f"{SERVER}:21"], "timeouts": ftpenv.TEST_TIMEOUTS, "tls": tls,
    }


@pytest.fixture(scope="module")
def balancer(workdir, backend, ftps_pki):
    cert = {"certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    services = [
        service("ftps-explicit", f"{EXPLICIT}:21", (52600, 52609), {"mode": "explicit", **cert}),
        service("ftps-implicit", f"{IMPLICIT}:990", (52610, 52614), {"mode": "implicit", **cert}),
        service("ftps-strict", f"{STRICT}:21", (52615, 52619),
                {"mode": "explicit", **cert, "require": "data", "session_reuse": "preferred"}),
    ]
    config = workdir / "ftps.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml(services, data_path={"relay": "splice"}))
    process = ftpenv.start_ftplb_file(workdir, "ftps", config, [(EXPLICIT, 21), (IMPLICIT, 990), (STRICT, 21)])
    yield process
    process.stop()


def ftps(pki, mode="pasv", version=None, reuse=True, host=EXPLICIT, port=21, implicit=False):
    return tlsclients.open_ftps(host, port, pki.ca_cert, mode=mode, tls_version=version, reuse=reuse,
                                implicit=implicit)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("mode", MODES)
def test_python_every_mode_resumes_the_control_session(balancer, backend, ftps_pki, workdir, mode, version):
    """RETR, STOR and LIST in each data mode with PROT P: each data connection resumed the
    control connection's session (Python says so), and the bytes are the server's."""
    ftp = ftps(ftps_pki, mode, version)
    assert ftp.control_version() == f"TLSv{version}"
    got = io.BytesIO()
    ftp.retrbinary("RETR small.bin", got.write)
    assert got.getvalue() == SMALL
    name = f"up-{mode}-{version}.bin"
    ftp.storbinary(f"STOR {name}", io.BytesIO(SMALL))
    assert any("small.bin" in line for line in ftp.nlst())
    ftp.quit()
    assert (backend.root / name).read_bytes() == SMALL
    assert len(ftp.data_tls) == 3 and all(d.session_reused for d in ftp.data_tls), ftp.data_tls


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_a_data_connection_without_resumption_is_refused_with_425(balancer, ftps_pki, version):
    """Stock ftplib (a new TLS session per data connection) and a client offering the TLS
    session of another FTP session both get RFC 4217's 425; the session goes on."""
    stock = tlsclients.open_stock_ftps(EXPLICIT, 21, ftps_pki.ca_cert, tls_version=version)
    with pytest.raises(ftplib.error_temp, match="^425 Unable to build data connection: TLS session of data connection not resumed"):
        stock.retrbinary("RETR small.bin", lambda _: None)
    assert stock.voidcmd("NOOP").startswith("200")
    stock.quit()
    first = ftps(ftps_pki, version=version)
    first.retrbinary("RETR small.bin", lambda _: None)
    other = ftps(ftps_pki, version=version)
    other.context = first.context
    other.ntransfercmd = lambda cmd, rest=None: borrowed_session_transfer(other, first, cmd, rest)
    with pytest.raises(ftplib.error_temp, match="^425 Unable to build data connection"):
        other.retrbinary("RETR small.bin", lambda _: None)
    first.quit()
    other.quit()


def borrowed_session_transfer(ftp, lender, cmd, rest):
    """ntransfercmd that offers `lender`'s TLS session: another FTP session's."""
    conn, size = ftpenv.FTPClient.ntransfercmd(ftp, cmd, rest)
    conn = lender.context.wrap_socket(conn, server_hostname=ftp.server_hostname, session=lender.sock.session)
    return conn, size


def test_big_file_both_ways_with_curl_lftp_and_python(balancer, backend, ftps_pki, big_file, workdir):
    """The big file down and up with equal sha256: curl --ssl-reqd (EPSV), lftp ssl-force
    (PORT), Python with reuse (PASV)."""
    down = workdir / "ftps-curl-down.bin"
    result = tlsclients.curl_ftps(EXPLICIT, 21, "big.bin", "epsv", ftps_pki.ca_cert, extra=["-o", str(down)]).check()
    assert "PROT P" in result.sent() and tlsclients.curl_reused_sessions(result) == 1, result.describe()
    assert ftpenv.sha256_file(down) == big_file.sha256
    tlsclients.curl_ftps(EXPLICIT, 21, "ftps-curl-up.bin", "pasv", ftps_pki.ca_cert,
                         extra=["-T", str(big_file.path)]).check()
    assert ftpenv.sha256_file(backend.root / "ftps-curl-up.bin") == big_file.sha256
    lftp_down = workdir / "ftps-lftp-down.bin"
    tlsclients.lftp_ftps(EXPLICIT, 21, "port", [f"get big.bin -o {lftp_down}", f"put {big_file.path} -o ftps-lftp-up.bin"],
                         workdir, ftps_pki.ca_cert).check()
    assert ftpenv.sha256_file(lftp_down) == big_file.sha256
    assert ftpenv.sha256_file(backend.root / "ftps-lftp-up.bin") == big_file.sha256
    ftp = ftps(ftps_pki, "pasv", "1.3")
    digest = hashlib.sha256()
    ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
    ftp.quit()
    assert digest.hexdigest() == big_file.sha256


def test_implicit_ftps_with_curl_and_python(balancer, ftps_pki, workdir):
    """ftps:// on the implicit listener: TLS from the first byte, data protected."""
    local = workdir / "ftps-implicit.bin"
    tlsclients.curl_ftps(IMPLICIT, 990, "small.bin", "pasv", ftps_pki.ca_cert, implicit=True,
                         extra=["-o", str(local)]).check()
    assert local.read_bytes() == SMALL
    ftp = ftps(ftps_pki, "epsv", host=IMPLICIT, port=990, implicit=True)
    with pytest.raises(ftplib.error_perm, match="^503 TLS is already active"):
        ftp.sendcmd("AUTH TLS")
    got = io.BytesIO()
    ftp.retrbinary("RETR small.bin", got.write)
    ftp.quit()
    assert got.getvalue() == SMALL and ftp.data_tls[0].session_reused


def test_the_balancer_answers_the_ftps_commands_and_feat(balancer, ftps_pki):
    """FEAT offers AUTH TLS, PBSZ and PROT; PROT before PBSZ, other levels and CCC get
    their RFC 4217 replies, from the balancer."""
    with ftpenv.Control(EXPLICIT, 21) as ctl:
        feat = ctl.cmd("FEAT").text
        assert all(f" {line}" in feat for line in ("AUTH TLS", "PBSZ", "PROT")), feat
        assert ctl.cmd("PBSZ 0").code == 503 and ctl.cmd("AUTH KERBEROS").code == 504
    ftp = ftps(ftps_pki)
    for level in ("S", "E"):
        with pytest.raises(ftplib.error_perm, match=f"^536 Protection level {level} is not supported"):
            ftp.sendcmd(f"PROT {level}")
    with pytest.raises(ftplib.error_perm, match="^534 CCC refused"):
        ftp.sendcmd("CCC")
    assert ftp.prot_c().startswith("200")
    # PROT C: the data connection is in clear, on the splice relay.
    got = io.BytesIO()
    ftp.retrbinary("RETR small.bin", got.write)
    assert got.getvalue() == SMALL
    ftp.quit()


def test_require_data_refuses_login_and_transfers_in_clear(balancer, ftps_pki):
    """require: data: USER before AUTH gets 530, a transfer under PROT C 534; session_reuse
    preferred lets stock ftplib's fresh TLS sessions through."""
    with ftpenv.Control(STRICT, 21) as ctl:
        assert ctl.cmd(f"USER {ftpenv.FTP_USER}").text.startswith("530 Log in over TLS")
    stock = tlsclients.open_stock_ftps(STRICT, 21, ftps_pki.ca_cert)
    stock.prot_c()
    with pytest.raises(ftplib.error_perm, match="^534 Data connections must be encrypted"):
        stock.retrbinary("RETR small.bin", lambda _: None)
    stock.prot_p()
    got = io.BytesIO()
    stock.retrbinary("RETR small.bin", got.write)
    stock.quit()
    assert got.getvalue() == SMALL
    assert "allowed by session_reuse" in balancer.log_text()


@pytest.mark.parametrize("protected", [True, False], ids=["ftps", "plain"])
def test_a_client_capture_shows_nothing_in_clear(balancer, backend, ftps_pki, workdir, protected):
    """Between client and balancer: no USER, PASS, RETR nor file bytes in clear under FTPS;
    the same session in plain FTP on the same service shows them all."""
    secret = f"ftps-marker-{os.urandom(8).hex()}\n".encode()
    (backend.root / "secret.txt").write_bytes(secret)
    needles = {"USER": f"USER {ftpenv.FTP_USER}\r\n".encode(), "PASS": f"PASS {ftpenv.FTP_PASSWORD}\r\n".encode(),
               "RETR": b"RETR secret.txt\r\n", "file bytes": secret}
    expression = tlscapture.server_expression(EXPLICIT, 21, (52600, 52609))
    path = workdir / f"ftps-client-side-{protected}.pcap"
    with tlscapture.Capture(path, expression, (EXPLICIT, 21)) as capture:
        ftp = ftps(ftps_pki) if protected else ftpenv.open_ftp(EXPLICIT, 21)
        got = io.BytesIO()
        ftp.retrbinary("RETR secret.txt", got.write)
        ftp.quit()
    assert got.getvalue() == secret
    assert capture.packet_count() > 10, capture.log_text()
    assert capture.found_in_clear(needles) == ([] if protected else list(needles))


KILLED_UPLOADER = """
import sys, time
sys.path.insert(0, sys.argv[1])
import tlsclients
ftp = tlsclients.open_ftps(sys.argv[2], 21, sys.argv[3])
conn = ftp.transfercmd("STOR killed.bin")
print("sending", flush=True)
for _ in range(100000):
    conn.sendall(b"x" * 65536)
    time.sleep(0.01)
"""


def test_a_client_killed_mid_stor_never_gets_the_server_to_226(balancer, backend, ftps_pki, workdir):
    """The uploading client dies without a TLS close_notify: the balancer resets the server's
    data connection, so the server fails the upload (426), never a 226."""
    script = workdir / "killed_uploader.py"
    script.write_text(KILLED_UPLOADER)
    offset = backend.client_log_size()
    uploader = ftpenv.ManagedProcess("killed-uploader", [ftpenv.SYSTEM_PYTHON, str(script), str(ftpenv.HERE), EXPLICIT,
                                     str(ftps_pki.ca_cert)], workdir / "killed-uploader.log")
    try:
        wait_for_bytes(backend.root / "killed.bin", 1 << 20)
    finally:
        uploader.stop(grace=0)
    log = wait_for_log(backend, offset, "killed.bin")
    assert "FAIL UPLOAD" in log and "426" in log and "226" not in log and "OK UPLOAD" not in log, log


@pytest.mark.parametrize("mode", ["pasv", "port"])
def test_rest_and_abor_over_protected_data(balancer, ftps_pki, big_file, mode):
    """REST then RETR under PROT P gives the rest of the file; ABOR sent in a TLS record in the
    middle of a protected RETR of the big file ends it (vsftpd's 426 and 225 reach the client),
    and the session goes on: NOOP, then a transfer whose data connection resumes again."""
    ftp = ftps(ftps_pki, mode)
    replies = ftp.rest_then_abort("small.bin", 1000, SMALL)
    assert replies[-1][:3] in ("225", "226"), replies
    assert ftp.voidcmd("NOOP").startswith("200"), "a stale reply after ABOR"
    again = io.BytesIO()
    ftp.retrbinary("RETR small.bin", again.write)
    assert again.getvalue() == SMALL
    ftp.quit()
    assert len(ftp.data_tls) == 3 and all(d.session_reused for d in ftp.data_tls), ftp.data_tls


def wait_for_bytes(path, size, limit=30.0):
    for _ in range(int(limit / 0.1)):
        if path.exists() and path.stat().st_size >= size:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} never reached {size} bytes")


def wait_for_log(server, offset, needle, limit=30.0):
    for _ in range(int(limit / 0.1)):
        text = server.client_log_text(offset)
        if needle in text and "UPLOAD" in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"the server logged no end of the upload:\n{server.client_log_text(offset)}")
