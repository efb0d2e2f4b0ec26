"""A virtual service's `tls:` files as `ftplb check-config` and `ftplb run` read them: real PEM
files from the openssl command; nothing listens (every refusal comes before the listeners)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ftpenv

pytestmark = pytest.mark.balancer_only

LISTEN = "127.0.119.1"


def openssl(*argv: str) -> None:
    ftpenv.run(["openssl", *argv], timeout=60)


def make_identity(directory: Path, name: str) -> tuple[Path, Path]:
    """A P-256 key and a self-signed certificate for ftp.example.com, valid for a day."""
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    openssl("req", "-x509", "-new", "-key", str(key), "-days", "1", "-subj", "/CN=ftp.example.com",
            "-addext", "subjectAltName=DNS:ftp.example.com", "-out", str(cert))
    return cert, key


def config_with_tls(directory: Path, cert: Path, key: Path) -> Path:
    path = directory / "tls.yaml"
    path.write_text("\n".join([
        "admin: {listen: none}",
        "virtual_services:",
        "  - name: ftps",
        f"    listen: {LISTEN}:21",
        "    passive_ports: 41900-41909",
        "    servers: [127.0.20.11:21]",
        "    tls:",
        "      mode: explicit",
        f"      certificate: {cert}",
        f"      private_key: {key}",
        "      require: login",
    ]) + "\n")
    return path


def ftplb(*argv: str):
    return ftpenv.run([str(ftpenv.ftplb_binary()), *argv], timeout=30, check=False)


def test_check_config_shows_the_tls_of_a_service(workdir):
    cert, key = make_identity(workdir, "good")
    result = ftplb("check-config", str(config_with_tls(workdir, cert, key)))
    assert result.returncode == 0, result.stderr.decode()
    summary = result.stdout.decode()
    assert "  tls:                explicit (plain FTP until AUTH TLS), TLS 1.2 or later" in summary, summary
    assert f"  tls certificate:    {cert} (key {key})" in summary, summary
    assert "  tls require:        login" in summary and "  tls session reuse:  required" in summary, summary
    assert result.stderr.decode() == "", result.stderr.decode()


def test_check_config_and_run_refuse_a_key_of_another_certificate(workdir):
    cert, _ = make_identity(workdir, "a")
    _, other_key = make_identity(workdir, "b")
    config = config_with_tls(workdir, cert, other_key)
    expected = (f"ftplb: {config}: virtual_services[0].tls.private_key: {other_key}: "
                f"the private key does not match the certificate in {cert}")
    result = ftplb("check-config", str(config))
    assert result.returncode == 2, result.stdout.decode()
    assert result.stderr.decode().strip() == expected, result.stderr.decode()
    assert result.stdout.decode() == ""

    run = ftplb("run", "--config", str(config))
    assert run.returncode == 2, run.stderr.decode()
    assert expected in run.stderr.decode(), run.stderr.decode()


def test_quick_form_tls_flags(workdir):
    """--tls-cert without --tls-key, and a non-PEM key, stop `run` naming the flag and the file."""
    cert, _ = make_identity(workdir, "q")
    base = ["run", "--listen", f"{LISTEN}:21", "--server", "127.0.20.11:21", "--passive-ports", "41910-41919",
            "--admin", "none"]
    alone = ftplb(*base, "--tls-cert", str(cert))
    assert alone.returncode == 2
    assert "--tls-key: --tls-cert needs --tls-key FILE" in alone.stderr.decode(), alone.stderr.decode()

    text = workdir / "not-a-key.txt"
    text.write_text("not a key\n")
    wrong = ftplb(*base, "--tls-cert", str(cert), "--tls-key", str(text), "--tls-implicit")
    assert wrong.returncode == 2
    assert f"--tls-key: {text}: not a PEM file" in wrong.stderr.decode(), wrong.stderr.decode()


def test_check_config_reads_the_server_tls_ca(workdir):
    """server_tls.ca is read by check-config as by run: a file that holds no certificate is an
    error naming the key and the file; a real certificate passes."""
    cert, _ = make_identity(workdir, "ca")
    not_pem = workdir / "not-a-ca.pem"
    not_pem.write_text("this is no certificate\n")
    for ca, expected in ((cert, None), (not_pem, "no PEM certificate could be read")):
        config = workdir / "server-tls.yaml"
        config.write_text("\n".join([
            "admin: {listen: none}",
            "virtual_services:",
            "  - name: to-ftps",
            f"    listen: {LISTEN}:21",
            "    passive_ports: 41900-41909",
            "    servers: [127.0.20.11:21]",
            "    server_tls:",
            "      mode: explicit",
            f"      ca: {ca}",
        ]) + "\n")
        result = ftplb("check-config", str(config))
        if expected is None:
            assert result.returncode == 0, result.stderr.decode()
            continue
        assert result.returncode == 2, result.stdout.decode()
        assert result.stderr.decode().strip() == (
            f"ftplb: {config}: virtual_services[0].server_tls.ca: {ca}: {expected}"), result.stderr.decode()
