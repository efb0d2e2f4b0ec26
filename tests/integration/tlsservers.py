"""Real FTPS servers for the TLS tests: vsftpd, ProFTPD (mod_tls), pure-ftpd and pyftpdlib,
each with the test CA's server certificate (tlsfixtures.py), in the foreground, stopped by
PID (process group where sessions are forked children) also when a test fails.

Address plan (loopback 127.0.121.0/24, passive ports 52600-52799):
    127.0.121.1-9        reserved for the balancer's FTPS virtual services (passive 52600-52639)
    127.0.121.11:21      vsftpd, explicit FTPS, TLS required for login and data, session
                         reuse required on data connections (passive 52650-52679)
    127.0.121.12:21      ProFTPD + mod_tls, TLS required, reuse required (its default)
                         (passive 52680-52709)
    127.0.121.13:21      pure-ftpd --tls=3: TLS required for control and data (52710-52739)
    127.0.121.14:21      pyftpdlib TLS_FTPHandler: FTPS offered, plain FTP allowed, no reuse
                         check (passive 52740-52769)
    127.0.121.15:990     vsftpd, implicit FTPS, the same rules as .11 (passive 52770-52799)
    127.0.121.16:21      vsftpd as .11 but with the untrusted certificate (the unrelated CA's),
                         for clients and balancers that must refuse it (passive 52640-52649)
Clients connect from 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

import ftpenv
from tlsfixtures import PKI

PROFTPD_DIR = Path(os.environ.get("FTPLB_IT_PROFTPD_DIR", ftpenv.REPO / ".test-deps" / "proftpd"))
PROFTPD = PROFTPD_DIR / "usr" / "sbin" / "proftpd"
PROFTPD_MODULES = PROFTPD_DIR / "usr" / "lib" / "proftpd"

BALANCER_HOSTS = tuple(f"127.0.121.{n}" for n in range(1, 10))
BALANCER_PASSIVE = (52600, 52639)


@dataclasses.dataclass(frozen=True)
class FTPSPlan:
    name: str
    kind: str  # "vsftpd", "proftpd", "pure-ftpd" or "pyftpdlib"
    host: str
    port: int
    passive_ports: tuple[int, int]
    implicit: bool = False  # TLS from the first byte (port 990) rather than AUTH TLS
    reuse_required: bool = False  # refuses a data connection without the control's session
    tls_required: bool = True  # refuses USER before AUTH TLS and data before PROT P
    untrusted: bool = False  # presents PKI.untrusted (another CA) instead of PKI.server


PLANS = {
    "vsftpd": FTPSPlan("vsftpd", "vsftpd", "127.0.121.11", 21, (52650, 52679), reuse_required=True),
    "proftpd": FTPSPlan("proftpd", "proftpd", "127.0.121.12", 21, (52680, 52709), reuse_required=True),
    "pure-ftpd": FTPSPlan("pure-ftpd", "pure-ftpd", "127.0.121.13", 21, (52710, 52739)),
    "pyftpdlib": FTPSPlan("pyftpdlib", "pyftpdlib", "127.0.121.14", 21, (52740, 52769),
                          tls_required=False),
    "vsftpd-implicit": FTPSPlan("vsftpd-implicit", "vsftpd", "127.0.121.15", 990, (52770, 52799),
                                implicit=True, reuse_required=True),
    "vsftpd-untrusted": FTPSPlan("vsftpd-untrusted", "vsftpd", "127.0.121.16", 21, (52640, 52649),
                                 reuse_required=True, untrusted=True),
}
EXPLICIT_SERVERS = ("vsftpd", "proftpd", "pure-ftpd", "pyftpdlib")
# Every address a client may check the certificate against.
CERTIFICATE_ADDRESSES = BALANCER_HOSTS + tuple(plan.host for plan in PLANS.values())


@dataclasses.dataclass
class FTPSServer(ftpenv.FTPServer):
    """An FTPS server of the plan, with the log in which it says how each TLS connection
    was negotiated (vsftpd's debug_ssl lines, ProFTPD's TLSLog; pure-ftpd and pyftpdlib
    say nothing)."""
    plan: FTPSPlan | None = None
    tls_log: Path | None = None

    @classmethod
    def of(cls, server: ftpenv.FTPServer, plan: FTPSPlan, tls_log: Path | None) -> "FTPSServer":
        fields = {f.name: getattr(server, f.name) for f in dataclasses.fields(ftpenv.FTPServer)}
        return cls(**fields, plan=plan, tls_log=tls_log)

    def tls_log_size(self) -> int:
        return self.tls_log.stat().st_size if self.tls_log and self.tls_log.exists() else 0

    def data_resumptions(self, offset: int = 0) -> list[bool] | None:
        """Whether each protected data connection it logged (from byte `offset` of its TLS
        log on) resumed the control session; None for a server that logs none."""
        if self.tls_log is None:
            return None
        text = ftpenv.read_from(self.tls_log, offset)
        return [m.group(1) in ("reused", "client reused") for m in RESUMPTION_LINES[self.kind].finditer(text)]

    def tls_versions(self, offset: int = 0) -> set[str] | None:
        """The TLS versions of the connections it logged from `offset` on ("TLSv1.3")."""
        if self.tls_log is None:
            return None
        return set(VERSION_LINES[self.kind].findall(ftpenv.read_from(self.tls_log, offset)))


# vsftpd (debug_ssl) logs every connection; the control connection's line comes before
# login, without the user's name. ProFTPD logs each data connection's resumption, and the
# version only for the control connection and the first data connection.
RESUMPTION_LINES = {
    "vsftpd": re.compile(r'\] \[[^\]]+\] DEBUG: Client "[^"]+", "SSL version: TLSv[\d.]+, '
                         r'SSL cipher: [^,]+, (reused|not reused)'),
    "proftpd": re.compile(r"(client reused|client did not reuse) TLS session"),
}
VERSION_LINES = {
    "vsftpd": re.compile(r'"SSL version: (TLSv[\d.]+),'),
    "proftpd": re.compile(r"(TLSv[\d.]+) (?:data )?connection accepted"),
}


def vsftpd_tls_settings(pki: PKI, implicit: bool = False, untrusted: bool = False,
                        required: bool = True) -> list[str]:
    """vsftpd as a strict FTPS server: TLS for login and data (unless not `required`), the data
    connections resuming the control connection's session (which proves the same client holds
    both)."""
    certificate = pki.untrusted if untrusted else pki.server
    forced = "YES" if required else "NO"
    settings = [
        "ssl_enable=YES", f"rsa_cert_file={certificate.chain}", f"rsa_private_key_file={certificate.key}",
        "ssl_sslv2=NO", "ssl_sslv3=NO", "ssl_tlsv1=YES", "ssl_ciphers=HIGH", "ssl_request_cert=NO",
        "allow_anon_ssl=NO", f"force_local_logins_ssl={forced}", f"force_local_data_ssl={forced}",
        "require_ssl_reuse=YES", "debug_ssl=YES",
    ]
    if implicit:
        settings.append("implicit_ssl=YES")
    return settings


def start_vsftpd_tls(workdir: Path, plan: FTPSPlan, root: Path, pki: PKI) -> FTPSServer:
    server = ftpenv.start_vsftpd(workdir, f"ftps-{plan.name}", plan.host, plan.port, plan.passive_ports, root,
                                 tls=False, extra=vsftpd_tls_settings(pki, plan.implicit, plan.untrusted, plan.tls_required))
    server.offers_tls = True
    return FTPSServer.of(server, plan, server.protocol_log)  # debug_ssl writes there


def proftpd_config(workdir: Path, plan: FTPSPlan, root: Path, pki: PKI) -> str:
    """A standalone ProFTPD on one address with mod_tls loaded from the unpacked package.

    System accounts from /etc/shadow (mod_auth_unix; PAM off, so no PAM service file is
    needed), chrooted to `root`. TLSRequired on: control and data. TLSOptions leaves out
    NoSessionReuseRequired, so data connections must resume the control session (the
    default); session tickets on, so TLS 1.3 clients get something to resume with.
    """
    name = f"ftps-{plan.name}"
    implicit = "TLSOptions UseImplicitSSL" if plan.implicit else ""
    return f"""
ServerType standalone
ServerName "ProFTPD {plan.name}"
DefaultAddress {plan.host}
Port {plan.port}
SocketBindTight on
UseIPv6 off
DefaultServer on
User nobody
Group nogroup
PidFile {workdir / f"{name}.pid"}
ScoreboardFile {workdir / f"{name}.scoreboard"}
DelayTable none
WtmpLog off
UseReverseDNS off
SystemLog {workdir / f"{name}.system.log"}
TransferLog {workdir / f"{name}.xferlog"}
MaxInstances 100
AuthPAM off
AuthOrder mod_auth_unix.c
RequireValidShell off
UseFtpUsers off
DefaultRoot {root}
PassivePorts {plan.passive_ports[0]} {plan.passive_ports[1]}
AllowOverwrite on
Umask 022
TimeoutIdle 120
ModulePath {PROFTPD_MODULES}
LoadModule mod_tls.c
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog {workdir / f"{name}.tls.log"}
  TLSProtocol TLSv1.2 TLSv1.3
  TLSCertificateChainFile {pki.ca_cert}
  TLSECCertificateFile {pki.server.cert}
  TLSECCertificateKeyFile {pki.server.key}
  TLSVerifyClient off
  TLSRequired on
  TLSSessionTickets on
  TLSRenegotiate none
  {implicit}
</IfModule>
"""


def start_proftpd_tls(workdir: Path, plan: FTPSPlan, root: Path, pki: PKI) -> FTPSServer:
    """ProFTPD in the foreground (-n); its sessions are forked children in its process
    group, so it is stopped by group, like pure-ftpd."""
    if not PROFTPD.exists():
        raise FileNotFoundError(f"ProFTPD not found at {PROFTPD}: run scripts/install-test-deps.sh "
                                "(it unpacks it there) or set FTPLB_IT_PROFTPD_DIR")
    name = f"ftps-{plan.name}"
    conf = workdir / f"{name}.conf"
    conf.write_text(proftpd_config(workdir, plan, root, pki))
    conf.chmod(0o600)
    ftpenv.run([str(PROFTPD), "-t", "-c", str(conf)], timeout=30)  # a config error, said plainly
    ftpenv.ensure_port_free(plan.host, plan.port)
    process = ftpenv.ManagedProcess(name, [str(PROFTPD), "-n", "-c", str(conf)], workdir / f"{name}.log",
                                    group=True)
    server = FTPSServer(name, "proftpd", plan.host, plan.port, root, process,
                        passive_ports=plan.passive_ports, offers_tls=True,
                        client_log=workdir / f"{name}.xferlog", active_source_port=20,
                        plan=plan, tls_log=workdir / f"{name}.tls.log")
    ftpenv.wait_started(process, plan.host, plan.port)
    return server


def start_pureftpd_tls(workdir: Path, plan: FTPSPlan, root: Path, pki: PKI) -> FTPSServer:
    """pure-ftpd --tls=3: cleartext control and data refused; key and certificate in one file."""
    server = ftpenv.start_pureftpd(workdir, f"ftps-{plan.name}", plan.host, plan.port, plan.passive_ports, root,
                                   extra=["--tls=3", f"--certfile={pki.server.combined}"])
    server.offers_tls = True
    return FTPSServer.of(server, plan, None)


def start_pyftpdlib_tls(workdir: Path, plan: FTPSPlan, root: Path, pki: PKI) -> FTPSServer:
    extra = ["--tls-cert", str(pki.server.chain), "--tls-key", str(pki.server.key)]
    if plan.tls_required:
        extra.append("--tls-required")
    server = ftpenv.start_pyftpdlib(workdir, f"ftps-{plan.name}", plan.host, plan.port, plan.passive_ports,
                                    root, extra=extra)
    server.offers_tls = True
    return FTPSServer.of(server, plan, None)


STARTERS = {
    "vsftpd": start_vsftpd_tls,
    "proftpd": start_proftpd_tls,
    "pure-ftpd": start_pureftpd_tls,
    "pyftpdlib": start_pyftpdlib_tls,
}


class FTPSServerPool:
    """Starts each planned FTPS server on first use and stops them all at the end."""

    def __init__(self, workdir: Path, big_file, pki: PKI):
        self.workdir = workdir
        self.big_file = big_file
        self.pki = pki
        self.running: dict[str, FTPSServer] = {}

    def get(self, name: str) -> FTPSServer:
        if name not in self.running:
            plan = PLANS[name]
            root = self.workdir / f"root-ftps-{name}"
            ftpenv.populate_root(root, name, self.big_file.path)
            self.running[name] = STARTERS[plan.kind](self.workdir, plan, root, self.pki)
        server = self.running[name]
        assert server.process.alive(), f"{name} died:\n{server.process.log_tail()}"
        return server

    def stop_all(self) -> None:
        for server in self.running.values():
            server.stop()


@pytest.fixture(scope="session")
def ftps_servers(workdir, big_file, ftp_user, ftps_pki) -> FTPSServerPool:
    pool = FTPSServerPool(workdir, big_file, ftps_pki)
    yield pool
    pool.stop_all()
