"""The Debian package of packaging/build-deb.sh: it builds from this tree, installs with dpkg,
systemd-analyze accepts its unit, its binary needs no Swift toolchain, it serves a real FTP
session the way its unit runs it (user ftplb, CAP_NET_BIND_SERVICE only, on port 21 with
active data from port 20), logrotate rotates its transfer log, and dpkg removes and purges it.

The package is installed on this machine for the module's duration and purged afterwards,
also when a test fails; an ftplb package installed before the run is left alone (the tests
refuse to start). The release build takes minutes the first time; build-deb.sh reuses it.
test_package_systemd.py has systemd itself run the unit.

Addresses: 127.0.90.1:21 the VIP (passive ports 47000-47099, admin API on port 9021),
127.0.90.11:21 pyftpdlib (passive ports 47100-47199).
"""

from __future__ import annotations

import pwd
import re
import shutil
import stat
from pathlib import Path

import pytest

import debpackage
import ftpenv

pytestmark = pytest.mark.balancer_only

VIP, SERVER = debpackage.VIP, debpackage.SERVER
CONFIG, LOG_DIR, TRANSFER_LOG = debpackage.CONFIG, debpackage.LOG_DIR, debpackage.TRANSFER_LOG
DROP_IN_DIR = debpackage.DROP_IN_DIR
# Everything the package puts on disk, and whether dpkg -r keeps it (conffiles are kept).
PACKAGE_FILES = {
    Path("/usr/bin/ftplb"): False,
    debpackage.UNIT: False,
    Path("/usr/share/ftplb/transparent.conf"): False,
    Path("/usr/lib/ftplb/ftplb-healthz-check"): False,
    Path("/usr/lib/ftplb/ftplb-bird-health"): False,
    Path("/usr/share/doc/ftplb/README.md"): False,
    CONFIG: True,
    Path("/etc/logrotate.d/ftplb"): True,
}
SWIFT_LIBRARIES = ("libswift", "libFoundation", "lib_Foundation", "libdispatch", "libBlocksRuntime")


@pytest.fixture(scope="module")
def deb(workdir) -> Path:
    return debpackage.build(workdir / "deb")


@pytest.fixture(scope="module")
def installed(deb):
    with debpackage.installed(deb):
        yield deb


def deb_field(deb: Path, name: str) -> str:
    return ftpenv.run(["dpkg-deb", "--field", str(deb), name]).stdout.decode().strip()


def test_package_carries_the_version_and_the_revision_of_the_tree(deb):
    revision = ftpenv.run(["git", "-C", str(ftpenv.REPO), "rev-parse", "--short=12", "HEAD"]).stdout.decode().strip()
    version = deb_field(deb, "Version")
    assert re.fullmatch(rf"\d+\.\d+\.\d+\+git\d+\.{revision}(\.modified)?", version), version
    depends = deb_field(deb, "Depends")
    assert "adduser" in depends and "libc6" in depends and "swift" not in depends, depends
    conffiles = ftpenv.run(["dpkg-deb", "--info", str(deb), "conffiles"]).stdout.decode().split()
    assert sorted(conffiles) == ["/etc/ftplb/ftplb.yaml", "/etc/logrotate.d/ftplb"]


def test_install_creates_the_user_the_log_directory_and_a_config_ftplb_reads(installed):
    account = pwd.getpwnam("ftplb")
    assert account.pw_uid < 1000 and account.pw_shell == "/usr/sbin/nologin"
    log_dir = LOG_DIR.stat()
    assert (log_dir.st_uid, LOG_DIR.group(), stat.S_IMODE(log_dir.st_mode)) == (account.pw_uid, "adm", 0o2750)
    config = CONFIG.stat()
    assert (config.st_uid, CONFIG.group(), stat.S_IMODE(config.st_mode)) == (0, "ftplb", 0o640)
    # keepalived's enable_script_security runs a check only if it and its directories are root's.
    for path in (Path("/usr/lib/ftplb/ftplb-healthz-check"), Path("/usr/lib/ftplb")):
        info = path.stat()
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o755), path
    assert debpackage.systemd_helper_state() != []  # so that a purge can remove enable links
    settings = debpackage.unit_settings()
    # The shipped example passes the unit's own check, run as the unit runs it.
    (check,) = settings["ExecStartPre"]
    result = ftpenv.run(debpackage.as_unit(settings, check), check=False, env=debpackage.UNIT_ENVIRONMENT)
    assert result.returncode == 0, result.stderr.decode()
    assert b"192.0.2.10:21" in result.stdout


def test_binary_runs_with_the_swift_toolchain_hidden(installed):
    ldd = ftpenv.run(["ldd", "/usr/bin/ftplb"]).stdout.decode()
    assert not [line for line in ldd.splitlines() if any(name in line for name in SWIFT_LIBRARIES)], ldd
    # 0.9.0+git124.4c43725b1d2e.modified is "0.9.0 (revision 4c43725b1d2e-modified)".
    number, _, build = deb_field(installed, "Version").partition("+git")
    revision = build.split(".", 1)[1].replace(".", "-")
    # The toolchain's runtime directory, covered by an empty file system in a mount namespace.
    info = ftpenv.run(["swift", "-print-target-info"]).stdout.decode()
    runtime = info.split('"runtimeLibraryPaths": [', 1)[1].split('"')[1]
    assert Path(runtime, "libswiftCore.so").exists()
    hidden = ftpenv.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                         'mount -t tmpfs none "$1" && test ! -e "$1/libswiftCore.so" && exec env -i /usr/bin/ftplb --version',
                         "sh", runtime]).stdout.decode()
    assert hidden == f"{number} (revision {revision})\n"


def test_systemd_accepts_the_unit_and_the_transparent_drop_in(installed):
    for drop_in in (None, Path("/usr/share/ftplb/transparent.conf")):
        if drop_in:
            DROP_IN_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copy(drop_in, DROP_IN_DIR / "transparent.conf")
        result = ftpenv.run(["systemd-analyze", "verify", "ftplb.service"], check=False, timeout=60)
        # Unknown keys and bad values are only warnings: any output is a failure.
        assert (result.returncode, result.stdout + result.stderr) == (0, b""), result
    (DROP_IN_DIR / "broken.conf").write_text("[Service]\nAmbientCapabilitie=CAP_NET_ADMIN\n")
    result = ftpenv.run(["systemd-analyze", "verify", "ftplb.service"], check=False, timeout=60)
    assert b"AmbientCapabilitie" in result.stderr, "verify did not read the drop-in directory"
    shutil.rmtree(DROP_IN_DIR)
    # systemd's own rating of the sandbox, 0 to 10 in tenths: 1.6 today, "OK" below 2.
    result = ftpenv.run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                         "ftplb.service"], check=False, timeout=60)
    assert result.returncode == 0, result.stdout.decode()[-3000:]


def transfer(mode: str, remote: str = "small.txt") -> tuple[bytes, list[tuple[str, int]]]:
    """RETR through the VIP in `mode`; the bytes and the data connections' peers."""
    chunks: list[bytes] = []
    ftp = ftpenv.open_ftp(VIP, 21, mode=mode)
    try:
        ftp.retrbinary(f"RETR {remote}", chunks.append)
        ftp.quit()
    finally:
        ftp.close()
    return b"".join(chunks), ftp.data_peers


def test_serves_ftp_as_user_ftplb_with_only_the_bind_capability(installed, workdir, ftp_user):
    root = workdir / "root-package"
    ftpenv.populate_root(root, "package")
    expected = (root / "small.txt").read_bytes()
    server = ftpenv.start_pyftpdlib(workdir, "pyftpdlib-package", *SERVER, (47100, 47199), root)
    balancer = None
    try:
        CONFIG.write_text(debpackage.session_config())  # as an operator edits the conffile
        settings = debpackage.unit_settings()
        (check,) = settings["ExecStartPre"]
        result = ftpenv.run(debpackage.as_unit(settings, check), check=False, env=debpackage.UNIT_ENVIRONMENT)
        assert result.returncode == 0, result.stderr.decode()
        (start,) = settings["ExecStart"]
        ftpenv.ensure_port_free(VIP, 21)
        balancer = ftpenv.ManagedProcess("ftplb-package", debpackage.as_unit(settings, start),
                                         workdir / "ftplb-package.log", env=debpackage.UNIT_ENVIRONMENT)
        ftpenv.wait_for_tcp(VIP, 21, proc=balancer)

        status = debpackage.process_status(balancer.pid)
        uid = str(pwd.getpwnam("ftplb").pw_uid)
        assert status["Uid"].split() == [uid] * 4, status["Uid"]
        bind_only = f"{1 << 10:016x}"  # CAP_NET_BIND_SERVICE is capability 10
        assert [status[key] for key in ("CapEff", "CapPrm", "CapAmb", "CapBnd")] == [bind_only] * 4
        assert status["NoNewPrivs"] == "1"
        nofile = debpackage.descriptor_limit(settings)
        assert debpackage.open_files_limit(balancer.pid) == (nofile, nofile)

        data, peers = transfer("epsv")
        assert data == expected and peers[0][0] == VIP
        data, peers = transfer("port")  # from the VIP's port 20: the capability at work
        assert (data, peers) == (expected, [(VIP, 20)])
        lines = debpackage.wait_for(lambda: len(debpackage.log_lines(TRANSFER_LOG)) == 2 and debpackage.log_lines(TRANSFER_LOG),
                         "two lines in the transfer log")
        assert all("small.txt" in line.split() for line in lines), lines
        assert (TRANSFER_LOG.owner(), TRANSFER_LOG.group()) == ("ftplb", "adm")

        # The package's logrotate file renames the log; the unit's reload opens a new one.
        ftpenv.run(["logrotate", "--force", "--state", str(workdir / "logrotate.state"),
                    "/etc/logrotate.d/ftplb"])
        assert debpackage.log_lines(LOG_DIR / "transfer.log.1") == lines and not TRANSFER_LOG.exists()
        (reload,) = settings["ExecReload"]
        ftpenv.run(reload.replace("$MAINPID", str(balancer.pid)).split())
        debpackage.wait_for(lambda: "transfer log reopened" in balancer.log_text() and TRANSFER_LOG.exists(),
                 "the transfer log reopened at its path")
        assert transfer("pasv")[0] == expected
        debpackage.wait_for(lambda: len(debpackage.log_lines(TRANSFER_LOG)) == 1, "a line in the new transfer log")
        assert debpackage.log_lines(LOG_DIR / "transfer.log.1") == lines
    finally:
        if balancer is not None:
            balancer.stop()
        server.stop()
    assert balancer.proc.returncode == 0, balancer.log_tail()


def test_upgrade_keeps_the_edited_configuration_and_its_permissions(installed):
    edited = CONFIG.read_bytes() + b"# edited by the operator\n"
    CONFIG.write_bytes(edited)
    debpackage.dpkg("-i", str(installed))  # the same version again: dpkg's upgrade path
    assert debpackage.package_status() == "install ok installed"
    assert CONFIG.read_bytes() == edited
    config = CONFIG.stat()
    assert (config.st_uid, CONFIG.group(), stat.S_IMODE(config.st_mode)) == (0, "ftplb", 0o640)
    assert debpackage.user_exists("ftplb") and Path("/usr/bin/ftplb").exists()


def test_remove_keeps_the_configuration_and_purge_removes_everything(installed):
    kept = CONFIG.read_bytes()
    debpackage.dpkg("-r", debpackage.PACKAGE)
    assert debpackage.package_status() == "deinstall ok config-files"
    assert {path: path.exists() for path in PACKAGE_FILES} == PACKAGE_FILES
    assert not Path("/usr/share/ftplb").exists() and not Path("/usr/share/doc/ftplb").exists()
    assert CONFIG.read_bytes() == kept
    assert debpackage.user_exists("ftplb") and LOG_DIR.is_dir()

    debpackage.dpkg("--purge", debpackage.PACKAGE)
    assert debpackage.package_status() == ""
    assert [path for path in [*PACKAGE_FILES, CONFIG.parent, LOG_DIR] if path.exists()] == []
    assert not debpackage.user_exists("ftplb") and not debpackage.group_exists("ftplb")
    overrides = ftpenv.run(["dpkg-statoverride", "--list"]).stdout.decode()
    assert "ftplb" not in overrides, overrides
    assert debpackage.systemd_helper_state() == []
