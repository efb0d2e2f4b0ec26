"""systemd itself runs the package's unit (test_package.py runs what the unit runs, without
systemd): systemd as PID 1 of namespaces of its own (systemdsandbox.py) with the unit file as
the package installed it, so the sandbox the unit asks for (user, capabilities, seccomp, a
read-only system) is the one ftplb meets. An upgrade with dpkg -i where systemd runs hands the
listeners to the new binary (SIGUSR2): a running transfer finishes in the old process, new
sessions go to the new one, and systemd follows it as the main process; a broken configuration
fails the unit after a few tries, with the reason in its log.

Addresses, in the sandbox's own network namespace: 127.0.90.1:21 the VIP (passive ports
47000-47099), 127.0.90.11:21 pyftpdlib (passive ports 47100-47199).
"""

from __future__ import annotations

import pwd
import subprocess
from pathlib import Path

import pytest

import debpackage
import ftpenv
import systemdsandbox

pytestmark = pytest.mark.balancer_only

VIP, SERVER = debpackage.VIP, debpackage.SERVER
# More than the socket buffers and pipes between pyftpdlib and curl hold, so that the transfer
# is still moving through ftplb while the client reads slowly.
BIG = 16 * ftpenv.MIB
POLICY = Path("/usr/sbin/policy-rc.d")


@pytest.fixture(scope="module")
def installed(workdir):
    with debpackage.installed(debpackage.build(workdir / "deb")) as deb:
        yield deb


@pytest.fixture
def systemd(installed, workdir, request, ftp_user):
    """pyftpdlib and the installed ftplb.service under systemd: the sandbox, the server's root
    and the file that holds ftplb's output."""
    directory = workdir / request.node.name
    root = directory / "root"
    ftpenv.populate_root(root, "package-systemd")
    ftpenv.make_random_file(root / "big.bin", BIG)
    (root / "big.bin").chmod(0o644)
    debpackage.CONFIG.write_text(debpackage.session_config())
    server = [ftpenv.SYSTEM_PYTHON, str(ftpenv.HERE / "pyftpd_server.py"), "--name", "systemd",
              "--host", SERVER[0], "--port", str(SERVER[1]), "--root", str(root),
              "--user", ftpenv.FTP_USER, "--password", ftpenv.FTP_PASSWORD, "--passive-ports", "47100-47199"]
    output = directory / "ftplb.log"
    sandbox = systemdsandbox.SystemdSandbox(directory, {
        "pyftpdlib.service": "[Service]\nExecStart=" + " ".join(server) + "\n",
        "ftplb.service": debpackage.UNIT.read_text(),
        "ftplb.service.d/output.conf": f"[Service]\nStandardOutput=append:{output}\nStandardError=inherit\n",
    })
    sandbox.start()
    try:
        def listening() -> bool:
            out = sandbox.run(["ss", "-Hltn"]).stdout.decode()
            return all(f"{host}:21 " in out for host in (VIP, SERVER[0]))
        debpackage.wait_for(listening, "ftplb and pyftpdlib listening under systemd")
        yield sandbox, root, output
    finally:
        sandbox.stop()


def main_status(sandbox: systemdsandbox.SystemdSandbox) -> dict[str, str]:
    """/proc/PID/status of the unit's main process."""
    main = sandbox.show("ftplb.service", "MainPID")["MainPID"]
    text = sandbox.run(["cat", f"/proc/{main}/status"]).stdout.decode()
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_systemd_runs_the_unit_as_user_ftplb_in_its_sandbox(systemd):
    sandbox, root, output = systemd
    status = main_status(sandbox)
    assert status["Uid"].split() == [str(pwd.getpwnam("ftplb").pw_uid)] * 4
    # Only CAP_NET_BIND_SERVICE (capability 10), no new privileges, a seccomp filter.
    assert (status["CapEff"], status["NoNewPrivs"], status["Seccomp"]) == (f"{1 << 10:016x}", "1", "2")
    expected = (root / "small.txt").read_bytes()
    for mode in ("epsv", "port"):  # port: from the VIP's port 20
        result = sandbox.run(ftpenv.curl_argv(VIP, 21, "small.txt", mode), check=False)
        assert (result.returncode, result.stdout) == (0, expected), result.stderr.decode()[-2000:]
    assert len(debpackage.log_lines(debpackage.TRANSFER_LOG)) == 2  # ReadWritePaths at work
    sandbox.run(["systemctl", "reload", "ftplb.service"])
    debpackage.wait_for(lambda: "transfer log reopened" in output.read_text(), "the reload")
    sandbox.run(["systemctl", "stop", "ftplb.service"])
    assert sandbox.show("ftplb.service", "Result", "ExecMainStatus") == {"Result": "success", "ExecMainStatus": "0"}


def test_upgrade_hands_over_to_the_new_binary_while_a_running_transfer_finishes(systemd, installed, workdir):
    sandbox, root, output = systemd
    before = sandbox.show("ftplb.service", "MainPID")["MainPID"]
    download = workdir / "upgrade-download.bin"
    # 1 MiB/s: about 10 s for the file, so the upgrade comes while it is moving.
    curl = subprocess.Popen(sandbox.inside(ftpenv.curl_argv(
        VIP, 21, "big.bin", "epsv", extra=["--limit-rate", "1M", "--output", str(download)])),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        debpackage.wait_for(lambda: download.exists() and download.stat().st_size > 0, "the download to start")
        assert curl.poll() is None, "the download ended before the upgrade began"
        # Where systemd runs, postinst upgrades a running service (SIGUSR2 to its main process),
        # unless policy-rc.d says no, as container images' does: not in the sandbox's view.
        if POLICY.exists():
            allow = workdir / "policy-rc.d"
            allow.write_text("#!/bin/sh\nexit 0\n")
            allow.chmod(0o755)
            sandbox.run(["mount", "--bind", str(allow), str(POLICY)])
        sandbox.run(["dpkg", "-i", str(installed)], timeout=180)
        debpackage.wait_for(lambda: "upgrade: the new process serves the listeners" in output.read_text(),
                            "the hand-over")
        after = sandbox.show("ftplb.service", "MainPID", "ActiveState")
        assert after["ActiveState"] == "active" and after["MainPID"] not in ("0", before), after
        # While the old process still relays the download, the new one serves new sessions.
        assert curl.poll() is None, "the download ended before the hand-over"
        expected = (root / "small.txt").read_bytes()
        result = sandbox.run(ftpenv.curl_argv(VIP, 21, "small.txt", "port"), check=False)
        assert (result.returncode, result.stdout) == (0, expected), result.stderr.decode()[-2000:]
        _, errors = curl.communicate(timeout=120)
    finally:
        if curl.poll() is None:
            curl.kill()
            curl.wait(timeout=10)
    assert curl.returncode == 0, errors.decode()[-2000:]
    assert ftpenv.sha256_file(download) == ftpenv.sha256_file(root / "big.bin")
    # The old process drained and exited by itself; systemd kept the new one as the service.
    debpackage.wait_for(lambda: sandbox.run(["test", "-e", f"/proc/{before}"], check=False).returncode != 0,
                        "the old process to exit")
    final = sandbox.show("ftplb.service", "MainPID", "ActiveState", "NRestarts")
    assert final == {"MainPID": after["MainPID"], "ActiveState": "active", "NRestarts": "0"}, final
    log = output.read_text()
    # The download was still running at the hand-over and ended in the old process, uncut.
    assert log.index("the new process serves the listeners") < log.index(f"ftp.bytes.to_client={BIG}"), log[-3000:]
    assert "shutting down" not in log, log[-3000:]


def test_a_broken_configuration_fails_the_unit_after_a_few_tries_with_the_reason(systemd):
    sandbox, root, output = systemd
    debpackage.CONFIG.write_text("virtual_services:\n  - name: broken\n    listen: 127.0.90.1:21\n")
    sandbox.run(["systemctl", "restart", "ftplb.service"], check=False)
    # ExecStartPre refuses the file at each try; StartLimitBurst ends the retries.
    debpackage.wait_for(lambda: sandbox.show("ftplb.service", "ActiveState")["ActiveState"] == "failed",
                        "the unit to give up", timeout=120)
    # Five starts within StartLimitIntervalSec, the one before the change included.
    assert 1 <= int(sandbox.show("ftplb.service", "NRestarts")["NRestarts"]) <= 5
    assert "ftplb.yaml:2:5: virtual_services[0].passive_ports: missing required key" in output.read_text()
