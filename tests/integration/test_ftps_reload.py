"""FTPS certificates re-read on reload (SIGHUP) without dropping sessions: a session running
across the reload keeps its TLS, and its protected data connections still resume its session;
new sessions get the new certificate. A reload to a key that does not match is refused, and
the service goes on with the certificate it had.

Address plan (inside the FTPS block of tlsservers.py): 127.0.121.4:21, passive 52607-52609;
the plain vsftpd of test_ftps.py behind it.
"""

from __future__ import annotations

import io
import shutil
import ssl

import pytest

import ftpenv
import tlsclients
from test_ftps import SMALL, backend, service  # noqa: F401  (fixture)
from test_pools import Ftplb
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

pytestmark = pytest.mark.balancer_only

VIP = "127.0.121.4"


def install(pki_certificate, directory):
    shutil.copyfile(pki_certificate.chain, directory / "ftps.pem")
    shutil.copyfile(pki_certificate.key, directory / "ftps.key")


def retrieve(ftp) -> bytes:
    got = io.BytesIO()
    ftp.retrbinary("RETR small.bin", got.write)
    return got.getvalue()


def test_a_reload_takes_the_new_certificate_and_running_sessions_go_on(workdir, backend, ftps_pki):
    directory = workdir / "ftps-reload"
    directory.mkdir(exist_ok=True)
    install(ftps_pki.server, directory)
    tls = {"mode": "explicit", "certificate": str(directory / "ftps.pem"), "private_key": str(directory / "ftps.key")}
    balancer = Ftplb(workdir, "ftps-reload", [service("ftps-reload", f"{VIP}:21", (52607, 52609), tls)])
    try:
        before = tlsclients.open_ftps(VIP, 21, ftps_pki.ca_cert)
        assert retrieve(before) == SMALL
        old = before.sock.getpeercert(binary_form=True)

        renewed = ftps_pki.issue("renewed", ftps_pki.names, ftps_pki.addresses)
        install(renewed, directory)
        assert balancer.reload().message == "configuration reloaded"
        after = tlsclients.open_ftps(VIP, 21, ftps_pki.ca_cert)
        assert after.sock.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(renewed.cert.read_text())
        assert old != after.sock.getpeercert(binary_form=True)
        # The running session: same control connection, data connections still resumed.
        assert retrieve(before) == SMALL and retrieve(after) == SMALL
        assert all(d.session_reused for d in before.data_tls + after.data_tls), before.data_tls + after.data_tls

        shutil.copyfile(ftps_pki.mismatched_key, directory / "ftps.key")
        refused = balancer.reload()
        assert refused.message.startswith("configuration reload "), refused.text
        assert "does not match" in refused.text, refused.text
        third = tlsclients.open_ftps(VIP, 21, ftps_pki.ca_cert)
        assert third.sock.getpeercert(binary_form=True) == after.sock.getpeercert(binary_form=True)
        for ftp in (before, after, third):
            ftp.quit()
    finally:
        balancer.process.stop()
