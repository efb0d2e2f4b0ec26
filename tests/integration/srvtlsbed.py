"""The bed of the `server_tls:` tests: FTPS servers at their own addresses (started on first
use, stopped with the module) and a balancer in front of one of them.

Address plan (loopback 127.0.122.0/24, passive ports 53000-53279):
    127.0.122.1-9        the balancers, passive 53000 + 10*(n-1) .. +9 (53000-53069), or
                         `passive_base` (53200-53219)
    127.0.122.11:21      vsftpd, explicit FTPS, reuse required (passive 53100-53129)
    127.0.122.12:21      ProFTPD + mod_tls, reuse required (passive 53130-53159)
    127.0.122.13:21      the same ProFTPD limited to TLS 1.2 (passive 53070-53099)
    127.0.122.14:21      pure-ftpd --tls=3: TLS for login and data (passive 53250-53279)
    127.0.122.15:990     vsftpd, implicit FTPS (passive 53160-53179)
    127.0.122.16:21      vsftpd with the unrelated CA's certificate (passive 53180-53199)
    127.0.122.17:21      vsftpd offering TLS without requiring it (passive 53220-53249)
"""


from __future__ import annotations

import dataclasses

import pytest

import ftpenv
import tlsservers
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

PLANS = {
    "vsftpd": dataclasses.replace(tlsservers.PLANS["vsftpd"], host="127.0.122.11", passive_ports=(53100, 53129)),
    "proftpd": dataclasses.replace(tlsservers.PLANS["proftpd"], host="127.0.122.12", passive_ports=(53130, 53159)),
    "proftpd-tls12": dataclasses.replace(tlsservers.PLANS["proftpd"], name="proftpd-tls12", host="127.0.122.13",
                                         passive_ports=(53070, 53099)),
    "vsftpd-implicit": dataclasses.replace(tlsservers.PLANS["vsftpd-implicit"], host="127.0.122.15",
                                           passive_ports=(53160, 53179)),
    "vsftpd-untrusted": dataclasses.replace(tlsservers.PLANS["vsftpd-untrusted"], host="127.0.122.16",
                                            passive_ports=(53180, 53199)),
    "pure-ftpd": dataclasses.replace(tlsservers.PLANS["pure-ftpd"], host="127.0.122.14", passive_ports=(53250, 53279)),
    "vsftpd-lenient": dataclasses.replace(tlsservers.PLANS["vsftpd"], name="vsftpd-lenient", host="127.0.122.17",
                                          passive_ports=(53220, 53249), tls_required=False),
}


def start_proftpd_tls12(workdir, plan, root, pki) -> tlsservers.FTPSServer:
    """ProFTPD limited to TLS 1.2, whose sessions the balancer gets at the handshake rather
    than as TLS 1.3 tickets after it."""
    original = tlsservers.proftpd_config
    tlsservers.proftpd_config = lambda *args: original(*args).replace("TLSProtocol TLSv1.2 TLSv1.3",
                                                                       "TLSProtocol TLSv1.2")
    try:
        return tlsservers.start_proftpd_tls(workdir, plan, root, pki)
    finally:
        tlsservers.proftpd_config = original


@pytest.fixture(scope="module")
def servers(workdir, big_file, ftp_user, ftps_pki):
    """The FTPS servers of this file's plan, each started on first use, all stopped at the end."""
    running: dict[str, tlsservers.FTPSServer] = {}

    def get(name: str) -> tlsservers.FTPSServer:
        if name not in running:
            plan = PLANS[name]
            root = workdir / f"root-srvtls-{name}"
            ftpenv.populate_root(root, name, big_file.path)
            starter = start_proftpd_tls12 if name == "proftpd-tls12" else tlsservers.STARTERS[plan.kind]
            running[name] = starter(workdir, plan, root, ftps_pki)
        assert running[name].process.alive(), running[name].process.log_tail()
        return running[name]

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture
def balancer_on(workdir, request):
    """Starts a balancer on 127.0.122.<n> in front of one server with the given server_tls;
    stops it after the test."""
    started: list[ftpenv.ManagedProcess] = []

    def start(n: int, server: tlsservers.FTPSServer, server_tls: dict, tls: dict | None = None,
              health_check: dict | None = None, passive_base: int | None = None,
              admin: dict | None = None) -> tuple[str, ftpenv.ManagedProcess]:
        host = f"127.0.122.{n}"
        base = passive_base or 53000 + 10 * (n - 1)
        name = f"srvtls-{n}-{request.node.name}"[:60]
        config = workdir / f"{name}.yaml"
        config.write_text(ftpenv.ftplb_pools_yaml([{
            "name": "ftps-servers",
            "listen": f"{host}:21",
            "passive_ports": (base, base + 9),
            "source_address": host,
            "servers": [f"{server.host}:{server.port}"],
            "timeouts": ftpenv.TEST_TIMEOUTS,
            "health_check": health_check or {"type": "none"},
            "server_tls": server_tls,
            "tls": tls,
        }], admin=admin))
        if tls is not None:
            check = ftpenv.run([str(ftpenv.ftplb_binary()), "check-config", str(config)], check=False)
            if b"unknown key 'tls'" in check.stdout + check.stderr:
                pytest.skip("this build has no tls: towards the clients")
        process = ftpenv.start_ftplb_file(workdir, name, config, [(host, 21)])
        started.append(process)
        return host, process

    yield start
    for process in started:
        process.stop()


