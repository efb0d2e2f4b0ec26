"""FTPS clients for the TLS tests: Python's ftplib (with and without TLS session reuse on
the data connections), curl and lftp, each checking the server against the test CA.

RFC 4217 servers such as vsftpd (require_ssl_reuse) and ProFTPD (mod_tls's default) accept
a protected data connection only if its TLS session resumes the control connection's: that
proves the data connection comes from the same client. Stock ftplib.FTP_TLS starts a fresh
session on every data connection; FTPSClient passes the control connection's session.
With TLS 1.3 the session to resume (a ticket) arrives after the handshake, with the first
data the client reads: by the time of a data connection the login replies have been read.
"""

from __future__ import annotations

import dataclasses
import ftplib
import io
import socket
import ssl
from pathlib import Path
from typing import Sequence

import ftpenv

TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def client_context(ca_file: Path, tls_version: str | None = None) -> ssl.SSLContext:
    """A client context that trusts only ca_file and checks the server's name or address;
    `tls_version` ("1.2", "1.3") pins the protocol version, both ends."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if tls_version is not None:
        context.minimum_version = context.maximum_version = TLS_VERSIONS[tls_version]
    return context


@dataclasses.dataclass(frozen=True)
class DataTLS:
    """What the TLS layer of one data connection negotiated."""
    version: str
    session_reused: bool
    cipher: str


class FTPSClient(ftpenv.FTPClient, ftplib.FTP_TLS):
    """ftplib FTPS with a chosen data mode (PASV, EPSV, PORT, EPRT, as ftpenv.FTPClient),
    explicit (AUTH TLS) or implicit (TLS from the first byte), whose protected data
    connections resume the control connection's TLS session unless reuse=False."""

    def __init__(self, context: ssl.SSLContext, mode: str = "pasv", reuse: bool = True,
                 implicit: bool = False, server_hostname: str | None = None, timeout: float = 30.0):
        super().__init__(mode=mode, timeout=timeout)
        self.context = context  # FTP_TLS.__init__ made a default one
        self.reuse = reuse
        self.implicit = implicit
        self.server_hostname = server_hostname
        self.data_tls: list[DataTLS] = []

    def connect(self, host: str = "", port: int = 0, timeout: float = -999, source_address=None) -> str:
        if self.server_hostname is None:
            self.server_hostname = host
        if not self.implicit:
            return super().connect(host, port, timeout, source_address)
        self.host, self.port = host, port
        raw = socket.create_connection((host, port), self.timeout, source_address=self.source_address)
        self.af = raw.family
        try:
            self.sock = self.context.wrap_socket(raw, server_hostname=self.server_hostname)
        except BaseException:
            raw.close()
            raise
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def auth(self) -> str:
        """AUTH TLS with the server name this client checks (FTP_TLS uses self.host)."""
        if isinstance(self.sock, ssl.SSLSocket):
            raise ValueError("Already using TLS")
        resp = self.voidcmd("AUTH TLS")
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.server_hostname)
        self.file = self.sock.makefile(mode="r", encoding=self.encoding)
        return resp

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftpenv.FTPClient.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            session = self.sock.session if self.reuse else None
            try:
                conn = self.context.wrap_socket(conn, server_hostname=self.server_hostname, session=session)
            except BaseException:
                conn.close()
                raise
            self.data_tls.append(DataTLS(conn.version(), conn.session_reused, conn.cipher()[0]))
        return conn, size

    def control_version(self) -> str | None:
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) else None

    def abort_and_collect(self, conn: socket.socket | None, with_426: bool = False,
                          max_replies: int = 4) -> list[str]:
        """ABOR as FTP_TLS sends it: a TLS record, no urgent data (TLS has none), then the
        data connection closed and the replies read up to the one that ends the ABOR (225
        or 226) and, with_426, the 426 of the transfer too, which ProFTPD sends before or
        after its 226 depending on what it noticed first."""
        self.sock.sendall(b"ABOR\r\n")
        if conn is not None:
            conn.close()
        replies: list[str] = []
        for _ in range(max_replies):
            replies.append(self.getmultiline())
            codes = {reply[:3] for reply in replies}
            if codes & {"225", "226"} and (not with_426 or "426" in codes):
                return replies
            assert replies[-1][:3] in ("225", "226") or replies[-1][:1] in ("4", "5", "1"), \
                f"unexpected reply to ABOR: {replies}"
        raise AssertionError(f"no end of the ABOR within {max_replies} replies: {replies}")

    def rest_then_abort(self, small: str, rest: int, whole: bytes, with_426: bool = False) -> list[str]:
        """REST then RETR of `small` (whose bytes are `whole`) gives the rest of it; then a
        protected RETR of big.bin aborted in its middle. The replies to the ABOR."""
        tail = io.BytesIO()
        self.retrbinary(f"RETR {small}", tail.write, rest=rest)
        assert tail.getvalue() == whole[rest:]
        self.voidcmd("TYPE I")
        conn, _ = self.ntransfercmd("RETR big.bin")
        assert len(conn.recv(65536)) > 0
        return self.abort_and_collect(conn, with_426=with_426)


def open_ftps(host: str, port: int, ca_file: Path, mode: str = "pasv", tls_version: str | None = None,
              reuse: bool = True, implicit: bool = False, timeout: float = 30.0,
              source: str | None = None) -> FTPSClient:
    """A logged-in FTPS session with protected data (PBSZ 0, PROT P), from `source` if given
    (control and passive data connections alike)."""
    ftp = FTPSClient(client_context(ca_file, tls_version), mode=mode, reuse=reuse, implicit=implicit,
                     timeout=timeout)
    if source:
        ftp.source_address = (source, 0)
    try:
        ftp.connect(host, port)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
    except BaseException:
        ftp.close()
        raise
    return ftp


def open_stock_ftps(host: str, port: int, ca_file: Path, tls_version: str | None = None,
                    timeout: float = 30.0) -> ftplib.FTP_TLS:
    """Python's own FTP_TLS, unchanged: PASV, and a fresh TLS session per data connection."""
    ftp = ftplib.FTP_TLS(context=client_context(ca_file, tls_version), timeout=timeout)
    try:
        ftp.connect(host, port)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
    except BaseException:
        ftp.close()
        raise
    return ftp


# ------------------------------------------------------------------------------------------
# curl and lftp

CURL_TLS_VERSION = {"1.2": ["--tlsv1.2", "--tls-max", "1.2"], "1.3": ["--tlsv1.3", "--tls-max", "1.3"]}
# What curl -v prints when a connection resumes a cached TLS session (the data connection
# resuming the control connection's one).
CURL_REUSE_LINE = "SSL re-using session ID"


def curl_ftps(host: str, port: int, path: str, mode: str, ca_file: Path, implicit: bool = False,
              tls_version: str | None = None, extra: Sequence[str] = (),
              timeout: float = 120.0) -> ftpenv.ClientResult:
    """curl with TLS required for control and data: explicit `--ssl-reqd ftp://` (AUTH TLS)
    or implicit `ftps://`, trusting only ca_file; `extra` holds -o/-T and the like."""
    tls = ["--cacert", str(ca_file)] + ([] if implicit else ["--ssl-reqd"])
    if tls_version is not None:
        tls += CURL_TLS_VERSION[tls_version]
    return ftpenv.curl(host, port, path, mode, [*tls, *extra], timeout=timeout,
                       scheme="ftps" if implicit else "ftp")


def curl_reused_sessions(result: ftpenv.ClientResult) -> int:
    return result.trace.count(CURL_REUSE_LINE)


LFTP_TLS_PRIORITY = {
    "1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2",
    "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3",
}


def lftp_tls_settings(ca_file: Path, tls_version: str | None = None) -> list[str]:
    """lftp (GnuTLS) with TLS forced on control, data and listings, checking the
    certificate and the name against ca_file; `tls_version` pins it by GnuTLS priority."""
    settings = [
        "set ftp:ssl-allow yes", "set ftp:ssl-force true", "set ftp:ssl-protect-data true",
        "set ftp:ssl-protect-list true", "set ftp:ssl-auth TLS",
        f"set ssl:ca-file {ca_file}", "set ssl:verify-certificate yes", "set ssl:check-hostname yes",
    ]
    if tls_version is not None:
        settings.append(f'set ssl:priority "{LFTP_TLS_PRIORITY[tls_version]}"')
    return settings


def lftp_ftps(host: str, port: int, mode: str, commands: Sequence[str], workdir: Path, ca_file: Path,
              implicit: bool = False, tls_version: str | None = None,
              timeout: float = 120.0) -> ftpenv.ClientResult:
    """An lftp script over explicit FTPS (AUTH TLS), or implicit with `ftps://host`."""
    target = f"ftps://{host}" if implicit else host
    return ftpenv.lftp(target, port, mode, commands, workdir, timeout=timeout,
                       tls_settings=lftp_tls_settings(ca_file, tls_version))
