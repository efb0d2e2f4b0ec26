"""ProFTPD's mod_proxy as an FTPS->FTPS reverse proxy, for bench/ftps_targets.py.

Towards the clients mod_tls terminates FTPS (TLS required, data connections resuming the
control session, as the backend requires too); towards the server mod_proxy's own TLS
(ProxyTLSEngine on) checks the server's certificate against the test CA. ProFTPD forks a process
per session; it runs in the foreground in a process group of its own and is stopped by group.
mod_proxy speaks TLS 1.2 to the server: with TLS 1.3 its uploads to vsftpd came up short (vsftpd
read the data connection's end before the last 2.5 MB of 64 MiB and answered 426), so
its STOR figures would measure a failure. ProFTPD and its modules are the unpacked packages of bench/install-bench-deps.sh.
"""

from __future__ import annotations

from pathlib import Path

import ftpenv
import tlsfixtures

PROFTPD = ftpenv.REPO / ".test-deps" / "proftpd"


def available() -> bool:
    return (PROFTPD / "usr/sbin/proftpd").exists() and (PROFTPD / "usr/lib/proftpd/mod_proxy.so").exists()


def config(workdir: Path, pki: tlsfixtures.PKI, host: str, passive: tuple[int, int], server: str) -> str:
    tables = workdir / "proxy-tables"
    tables.mkdir(exist_ok=True)
    return "\n".join([
        f"ModulePath {PROFTPD}/usr/lib/proftpd",
        "LoadModule mod_tls.c",
        "LoadModule mod_proxy.c",
        'ServerName "mod_proxy FTPS bench"',
        "ServerType standalone",
        "DefaultServer on",
        f"DefaultAddress {host}",
        "SocketBindTight on",
        "Port 21",
        "User nobody",
        "Group nogroup",
        "MaxInstances 2000",
        "UseIPv6 off",
        "UseReverseDNS off",
        "WtmpLog off",
        "DelayEngine off",
        f"ScoreboardFile {workdir}/mod-proxy.scoreboard",
        f"PidFile {workdir}/mod-proxy.pid",
        f"PassivePorts {passive[0]} {passive[1]}",
        "<IfModule mod_tls.c>",
        "  TLSEngine on",
        f"  TLSLog {workdir}/mod-proxy.tls.log",
        "  TLSProtocol TLSv1.2 TLSv1.3",
        f"  TLSCertificateChainFile {pki.ca_cert}",
        f"  TLSECCertificateFile {pki.server.cert}",
        f"  TLSECCertificateKeyFile {pki.server.key}",
        "  TLSVerifyClient off",
        "  TLSRequired on",
        "  TLSSessionTickets on",
        "  TLSRenegotiate none",
        "</IfModule>",
        "<IfModule mod_proxy.c>",
        "  ProxyEngine on",
        "  ProxyRole reverse",
        f"  ProxyTables {tables}",
        f"  ProxyLog {workdir}/mod-proxy.log",
        f"  ProxyReverseServers ftp://{server}:21",
        "  ProxyReverseConnectPolicy RoundRobin",
        "  ProxyTimeoutConnect 5",
        "  ProxyTLSEngine on",
        f"  ProxyTLSCACertificateFile {pki.ca_cert}",
        "  ProxyTLSVerifyServer on",
        "  ProxyTLSProtocol TLSv1.2",
        "</IfModule>",
        "",
    ])


def start(workdir: Path, pki: tlsfixtures.PKI, host: str, passive: tuple[int, int], server: str) -> ftpenv.ManagedProcess:
    path = workdir / "mod-proxy.conf"
    path.write_text(config(workdir, pki, host, passive, server))
    proftpd = str(PROFTPD / "usr/sbin/proftpd")
    ftpenv.run([proftpd, "-t", "-c", str(path)], timeout=30)  # a config error, said plainly
    process = ftpenv.ManagedProcess("mod_proxy", [proftpd, "-n", "-q", "-c", str(path)],
                                    workdir / "mod-proxy.stdout.log", group=True)
    ftpenv.wait_for_tcp(host, 21, proc=process)
    return process
