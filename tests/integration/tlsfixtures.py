"""A test certificate authority for the FTPS tests, made with the `openssl` command.

Everything is made in a directory of the test run, never installed anywhere: a CA, a server
certificate signed by it for the names and addresses a test gives, a certificate for the same
names from an unrelated CA (a client that trusts the test CA must refuse it), and a key that
matches no certificate (a server or balancer given it with the server certificate must refuse
to start). EC P-256 keys: made in milliseconds, accepted by vsftpd, ProFTPD, pure-ftpd,
pyftpdlib (pyOpenSSL), curl, lftp (GnuTLS) and Python's ssl.

The certificates are valid from the moment they are made for a year (-days), and every
test makes its own, so no test depends on the date.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import pytest

import ftpenv

KEY_ALGORITHM = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
VALID_DAYS = "365"


@dataclasses.dataclass(frozen=True)
class ServerCertificate:
    cert: Path  # the leaf certificate (PEM)
    key: Path  # its private key (PEM, unencrypted)
    combined: Path  # key then certificate in one file, as pure-ftpd and some daemons want it
    chain: Path  # leaf then the CA that signed it


@dataclasses.dataclass(frozen=True)
class PKI:
    directory: Path
    ca_cert: Path  # what clients are told to trust (--cacert, ssl:ca-file, cafile=)
    ca_key: Path
    server: ServerCertificate  # signed by ca_cert for the names given
    names: tuple[str, ...]  # DNS names in the server certificate
    addresses: tuple[str, ...]  # IP addresses in the server certificate
    other_ca_cert: Path  # an unrelated CA
    untrusted: ServerCertificate  # same names, signed by other_ca_cert: not trusted by ca_cert
    mismatched_key: Path  # a key that belongs to no certificate here

    def issue(self, name: str, names: Sequence[str] = (), addresses: Sequence[str] = ()) -> ServerCertificate:
        """Another server certificate signed by the test CA (say, for another address)."""
        return _issue(self.directory, name, self.ca_cert, self.ca_key, names, addresses)


def _openssl(*args: str) -> None:
    ftpenv.run(["openssl", *args], timeout=60)


def _make_key(path: Path) -> Path:
    _openssl("genpkey", *KEY_ALGORITHM, "-out", str(path))
    path.chmod(0o600)
    return path


def make_ca(directory: Path, name: str, subject: str) -> tuple[Path, Path]:
    """A self-signed CA certificate and its key: directory/NAME-ca.pem, NAME-ca.key."""
    key = _make_key(directory / f"{name}-ca.key")
    cert = directory / f"{name}-ca.pem"
    _openssl("req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days", VALID_DAYS,
             "-subj", f"/CN={subject}", "-sha256",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash")
    return cert, key


def _issue(directory: Path, name: str, ca_cert: Path, ca_key: Path, names: Sequence[str],
           addresses: Sequence[str]) -> ServerCertificate:
    """A server certificate for `names` and `addresses`, signed by ca_cert."""
    if not names and not addresses:
        raise ValueError("a server certificate needs at least one name or address")
    key = _make_key(directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    cert = directory / f"{name}.pem"
    subject = names[0] if names else addresses[0]
    _openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", f"/CN={subject}")
    alt = ",".join([f"DNS:{n}" for n in names] + [f"IP:{a}" for a in addresses])
    extensions = directory / f"{name}.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n"
        f"subjectAltName={alt}\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(cert), "-days", VALID_DAYS, "-sha256",
             "-extfile", str(extensions))
    combined = directory / f"{name}.combined.pem"
    combined.write_bytes(key.read_bytes() + cert.read_bytes())
    combined.chmod(0o600)
    chain = directory / f"{name}.chain.pem"
    chain.write_bytes(cert.read_bytes() + ca_cert.read_bytes())
    return ServerCertificate(cert, key, combined, chain)


def make_test_pki(directory: Path, names: Sequence[str], addresses: Sequence[str]) -> PKI:
    """The test CA, a server certificate for names+addresses, the unrelated pair and the
    mismatched key, all in `directory` (created 0700: it holds private keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca_cert, ca_key = make_ca(directory, "test", "ftplb test CA")
    server = _issue(directory, "server", ca_cert, ca_key, names, addresses)
    other_ca_cert, other_ca_key = make_ca(directory, "other", "unrelated CA")
    untrusted = _issue(directory, "untrusted", other_ca_cert, other_ca_key, names, addresses)
    mismatched_key = _make_key(directory / "mismatched.key")
    return PKI(directory, ca_cert, ca_key, server, tuple(names), tuple(addresses),
                   other_ca_cert, untrusted, mismatched_key)


def verify(cert: Path, ca_cert: Path) -> bool:
    """Whether `openssl verify` accepts cert as issued by ca_cert."""
    result = ftpenv.run(["openssl", "verify", "-CAfile", str(ca_cert), str(cert)], check=False)
    return result.returncode == 0


def key_matches(cert: Path, key: Path) -> bool:
    """Whether `key` is the private key of `cert` (their public keys are the same)."""
    from_cert = ftpenv.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"]).stdout
    from_key = ftpenv.run(["openssl", "pkey", "-in", str(key), "-pubout"]).stdout
    return from_cert == from_key


# The names in the FTPS servers' certificate: every address of tlsservers.py's plan, and a
# DNS name for tests of name checks (resolved by no one: clients connect by address).
PKI_NAMES = ("ftps.test",)


@pytest.fixture(scope="session")
def ftps_pki(workdir) -> PKI:
    """The test CA and certificates, in the run's work directory (removed with it).

    The directory is 0700 but the server's key must be readable by the servers, which all
    read it as root before they drop privileges.
    """
    import tlsservers  # the address plan lives with the servers

    return make_test_pki(workdir / "pki", PKI_NAMES, tlsservers.CERTIFICATE_ADDRESSES)
