"""The ftplb command line: check-config and the quick form of `run`."""

from __future__ import annotations

import collections
import re
import subprocess

import pytest

import ftpenv
from conftest import BALANCER_SOURCE

pytestmark = pytest.mark.balancer_only

VALID = ftpenv.ftplb_config_yaml(
    "cli", "127.0.10.80:21", "127.0.10.80", (40800, 40899), BALANCER_SOURCE,
    ["127.0.20.11:21", "127.0.20.12:21"])


def check_config(path) -> subprocess.CompletedProcess:
    return ftpenv.run([str(ftpenv.ftplb_binary()), "check-config", str(path)], timeout=30, check=False)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_check_config_accepts_the_contract_example(workdir):
    path = workdir / "cli-valid.yaml"
    path.write_text(VALID)
    result = check_config(path)
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize("needle, replacement, key", [
    ("listen: 127.0.10.80:21", "listen: 127.0.10.80:99999", "listen"),
    ("passive_ports: 40800-40899", "passive_ports: 40899-40800", "passive_ports"),
    ("      - 127.0.20.11:21", "      - not-an-address", "servers"),
])
def test_check_config_names_file_line_and_path(workdir, needle, replacement, key):
    text = VALID.replace(needle, replacement)
    assert text != VALID
    path = workdir / f"cli-invalid-{key}.yaml"
    path.write_text(text)
    result = check_config(path)
    stderr = result.stderr.decode()
    assert result.returncode != 0
    # FILE:LINE:COL: path: message (a leading "ftplb: " program name is tolerated)
    match = re.search(rf"(?:^|\s){re.escape(str(path))}:(\d+):(\d+): (\S+): (.+)$", stderr, re.M)
    assert match, stderr
    assert int(match.group(1)) == line_of(text, replacement), stderr
    assert int(match.group(2)) >= 1
    assert key in match.group(3), stderr


def test_check_config_reports_every_error_and_the_whole_configuration(workdir):
    """Two mistakes in two places: both are named in one run, with a count; a valid file's
    summary shows the data path too."""
    text = VALID.replace("passive_ports: 40800-40899", "passive_ports: 40899-40800").replace(
        "log_level: debug", "log_level: loud")
    assert text.count("40899-40800") == 1 and "loud" in text
    path = workdir / "cli-two-errors.yaml"
    path.write_text(text)
    result = check_config(path)
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert f"{path}:{line_of(text, 'loud')}:" in stderr and "log_level:" in stderr, stderr
    assert f"{path}:{line_of(text, '40899-40800')}:" in stderr and "passive_ports:" in stderr, stderr
    assert stderr.strip().endswith(f"ftplb: 2 errors in {path}"), stderr

    valid = workdir / "cli-valid-summary.yaml"
    valid.write_text(VALID)
    summary = check_config(valid).stdout.decode()
    assert "data path: splice, 1MiB pipe per direction, 1 relay thread" in summary, summary


def test_quick_form_run(workdir, servers):
    """`ftplb run --listen --server --server --passive-ports ...` balances like a config."""
    members = [servers.get("vsftpd"), servers.get("pyftpdlib")]
    host, port = "127.0.10.81", 21
    argv = [str(ftpenv.ftplb_binary()), "run", "--listen", f"{host}:{port}",
            "--passive-ports", "40810-40819", "--advertise", host,
            "--source-address", BALANCER_SOURCE, "--shutdown-grace", "5s", "--admin", f"{host}:9081"]
    for member in members:
        argv += ["--server", member.address]
    ftpenv.ensure_port_free(host, port)
    process = ftpenv.ManagedProcess("ftplb-quick", argv, workdir / "ftplb-quick.log")
    try:
        ftpenv.wait_for_tcp(host, port, proc=process)
        seen = collections.Counter()
        for _ in range(4):
            ftp = ftpenv.open_ftp(host, port, "pasv")
            chunks: list[bytes] = []
            ftp.retrbinary("RETR server-id.txt", chunks.append)
            ftp.quit()
            seen[b"".join(chunks).decode().strip()] += 1
            host_in_reply = ftpenv.parse_pasv_reply(ftp.data_replies[-1])[0]
            assert host_in_reply == host
        assert seen == {"vsftpd": 2, "pyftpdlib": 2}, seen
        # --admin moved the admin API off its default address.
        pools = ftpenv.run([str(ftpenv.ftplb_binary()), "show", "pools", "--admin", f"{host}:9081"],
                           timeout=30, check=False)
        assert pools.returncode == 0 and "default" in pools.stdout.decode(), pools.stderr.decode()
    finally:
        process.stop()


def test_config_and_quick_flags_do_not_mix(workdir):
    """A quick flag next to --config would be silently ignored; both commands refuse it."""
    path = workdir / "cli-mixed.yaml"
    path.write_text(VALID)
    for command in ("run", "setup-transparent"):
        result = ftpenv.run([str(ftpenv.ftplb_binary()), command, "--config", str(path), "--advertise", "127.0.10.99"],
                            timeout=30, check=False)
        assert result.returncode == 2, (command, result.stderr.decode())
        assert "use either --config or the quick flags, not both" in result.stderr.decode()


def test_setup_transparent_without_a_transparent_service(workdir):
    path = workdir / "cli-plain.yaml"
    path.write_text(VALID)
    result = ftpenv.run([str(ftpenv.ftplb_binary()), "setup-transparent", "--config", str(path)],
                        timeout=30, check=False)
    assert result.returncode == 1, result.stderr.decode()
    assert "no virtual service has client_address: transparent" in result.stderr.decode()
    assert result.stdout == b""
