"""The data_path section: the splice relay is the default, the copy relay still moves files
when configured, and a bad pipe_size is refused by check-config at its line.

Addresses 127.0.70.x: VIPs 127.0.70.1-6 (passive ports 46700-46799) in front of a pyftpdlib
of this file's own on 127.0.70.20:21 (passive ports 46800-46849), source address 127.0.70.10.
"""

from __future__ import annotations

import ftplib
import hashlib
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import ftpenv
pytestmark = pytest.mark.balancer_only

SOURCE = "127.0.70.10"

SPLICE_THREAD = "ftplb-splice"


@pytest.fixture(scope="module")
def server(workdir, big_file, ftp_user):
    """A pyftpdlib of this file's own, serving the big file."""
    root = workdir / "root-data-path"
    ftpenv.populate_root(root, "data-path", big_file.path)
    server = ftpenv.start_pyftpdlib(workdir, "pyftpdlib-data-path", "127.0.70.20", 21, (46800, 46849), root)
    yield server
    server.stop()


def relay_threads(pid: int) -> int:
    """Threads of `pid` named as the splice relay names its threads."""
    count = 0
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        try:
            if comm.read_text().strip() == SPLICE_THREAD:
                count += 1
        except OSError:  # the thread ended meanwhile
            pass
    return count


def start(workdir: Path, name: str, vip: str, ports: tuple[int, int], server: str,
          data_path: str | None) -> ftpenv.ManagedProcess:
    text = ftpenv.ftplb_config_yaml(name, f"{vip}:21", vip, ports, SOURCE, [server])
    if data_path is not None:
        text = data_path + "\n" + text
    config = workdir / f"{name}.yaml"
    config.write_text(text)
    return ftpenv.start_ftplb_file(workdir, name, config, [(vip, 21)])


def round_trip(vip: str, mode: str, big_file, scratch: Path, port: int = 21) -> None:
    """RETR the big file and STOR it back, checked by hash."""
    local = scratch / f"{mode}.bin"
    remote = f"up-{mode}-{uuid.uuid4().hex[:8]}.bin"
    ftp = ftpenv.open_ftp(vip, port, mode=mode)
    try:
        ftpenv.ftplib_retrieve(ftp, "big.bin", local)
        assert ftpenv.sha256_file(local) == big_file.sha256
        ftpenv.ftplib_store(ftp, local, remote)
        back = scratch / f"{mode}-back.bin"
        ftpenv.ftplib_retrieve(ftp, remote, back)
        assert ftpenv.sha256_file(back) == big_file.sha256
        ftp.delete(remote)
        ftp.quit()
    finally:
        ftp.close()


@pytest.mark.parametrize("mode", ["pasv", "port"])
def test_the_copy_relay_moves_files_when_configured(workdir, server, big_file, scratch, mode):
    vip = "127.0.70.1" if mode == "pasv" else "127.0.70.2"
    ports = (46700, 46749) if mode == "pasv" else (46750, 46799)
    process = start(workdir, f"ftplb-copy-{mode}", vip, ports, server.address, "data_path: {relay: copy}")
    try:
        assert "data connections relayed by copying" in process.log_text()
        assert relay_threads(process.pid) == 0
        round_trip(vip, mode, big_file, scratch)
        assert process.alive(), process.log_tail()
    finally:
        process.stop()


@pytest.mark.parametrize("data_path, threads, pipe_size", [
    (None, 1, 1048576),
    ("data_path: {threads: 2, pipe_size: 256KiB}", 2, 262144),
], ids=["default", "two-threads"])
def test_splice_relays_by_default_on_its_own_threads(workdir, server, big_file, scratch,
                                                     data_path, threads, pipe_size):
    vip = "127.0.70.3" if data_path is None else "127.0.70.4"
    ports = (46700, 46749) if data_path is None else (46750, 46799)
    process = start(workdir, f"ftplb-splice-{threads}", vip, ports, server.address, data_path)
    try:
        log = process.log_text()
        assert "data connections relayed with splice(2)" in log, log
        assert f"ftp.pipe_size={pipe_size}" in log and f"ftp.threads={threads}" in log, log
        assert relay_threads(process.pid) == threads
        round_trip(vip, "pasv", big_file, scratch)
        round_trip(vip, "port", big_file, scratch)
        assert process.alive(), process.log_tail()
    finally:
        process.stop()
    # Stopped cleanly: no relay thread held the exit up, nothing was killed.
    assert process.proc.returncode == 0, process.log_tail()


def test_check_config_refuses_a_pipe_size_that_is_not_a_power_of_two_at_its_line(workdir):
    text = ("data_path:\n  relay: splice\n  pipe_size: 1000000\n"
            + ftpenv.ftplb_config_yaml("bad-pipe", "127.0.70.9:21", "127.0.70.9", (46700, 46799),
                                       SOURCE, ["127.0.70.20:21"]))
    path = workdir / "bad-pipe-size.yaml"
    path.write_text(text)
    result = ftpenv.run([str(ftpenv.ftplb_binary()), "check-config", str(path)], timeout=30, check=False)
    stderr = result.stderr.decode()
    assert result.returncode != 0
    match = re.search(rf"{re.escape(str(path))}:(\d+):(\d+): data_path\.pipe_size: (.+)$", stderr, re.M)
    assert match, stderr
    assert int(match.group(1)) == 3, stderr
    assert "power of two" in match.group(3) and "1000000" in match.group(3), stderr


def test_a_pipe_size_the_kernel_refuses_falls_back_to_the_default_with_one_warning(workdir, server, big_file,
                                                                                   scratch, ftp_user):
    """Unprivileged, a pipe above /proc/sys/fs/pipe-max-size is refused (EPERM): ftplb says so once
    and relays with the kernel's default pipe size."""
    binary = str(ftpenv.ftplb_binary())
    unprivileged = ["setpriv", f"--reuid={ftp_user}", f"--regid={ftp_user}", "--init-groups"]
    if subprocess.run(unprivileged + [binary, "--help"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip(f"the ftplb binary cannot be run as {ftp_user} from where it is")
    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    asked = 1 << limit.bit_length()  # the next power of two above the limit
    if asked > 1 << 30:
        pytest.skip(f"pipe-max-size {limit} leaves no valid pipe_size above it")
    vip, port = "127.0.70.5", 2121  # unprivileged: no port 21, no source port 20
    text = ftpenv.ftplb_config_yaml("ftplb-pipe-refused", f"{vip}:{port}", vip, (46700, 46749), SOURCE,
                                    [server.address], active_source_port=0)
    config = workdir / "ftplb-pipe-refused.yaml"
    config.write_text(f"data_path: {{pipe_size: {asked}}}\n" + text)
    ftpenv.ensure_port_free(vip, port)
    process = ftpenv.ManagedProcess("ftplb-pipe-refused", unprivileged + [binary, "run", "--config", str(config)],
                                    workdir / "ftplb-pipe-refused.log")
    try:
        ftpenv.wait_started(process, vip, port)
        round_trip(vip, "pasv", big_file, scratch, port=port)
        round_trip(vip, "port", big_file, scratch, port=port)
        assert process.alive(), process.log_tail()
        warnings = [line for line in process.log_text().splitlines()
                    if "data_path.pipe_size refused by the kernel" in line]
        assert len(warnings) == 1, process.log_tail()
        assert f"ftp.pipe_size={asked}" in warnings[0] and "ftp.error=operation not permitted" in warnings[0], warnings[0]
    finally:
        process.stop()


def test_a_passive_connection_that_finds_no_free_descriptor_is_accepted_once_one_is_free(workdir, server, big_file):
    """With every descriptor in use, accept(2) on a passive port fails (EMFILE). Under
    edge-triggered epoll no second event would come for the connection still queued: ftplb says
    so once, tries again every 100 ms, and relays the transfer once descriptors are free."""
    vip, limit = "127.0.70.6", 160
    text = ftpenv.ftplb_config_yaml("ftplb-emfile", f"{vip}:21", vip, (46700, 46749), SOURCE, [server.address],
                                    timeouts={"passive_accept": "20s"})
    config = workdir / "ftplb-emfile.yaml"
    # No health checks: their sockets would come and go while descriptors are being counted.
    config.write_text(text + "    health_check: {type: none}\n")
    ftpenv.ensure_port_free(vip, 21)
    process = ftpenv.ManagedProcess(
        "ftplb-emfile",
        ["prlimit", f"--nofile={limit}:{limit}", "--", str(ftpenv.ftplb_binary()), "run", "--config", str(config)],
        workdir / "ftplb-emfile.log")
    held: list = []
    data = None
    try:
        ftpenv.wait_started(process, vip, 21)

        def in_use() -> int:
            return len(list(Path(f"/proc/{process.pid}/fd").iterdir()))

        tested = ftpenv.open_ftp(vip, 21)
        tested.voidcmd("TYPE I")
        # Logged-in sessions hold two descriptors each until the balancer keeps its reserve free
        # (new sessions get 421); their unused passive listeners, one each, take the reserve: the
        # table is filled to one short of full...
        while len(held) < limit:
            try:
                held.append(ftpenv.open_ftp(vip, 21))
            except ftplib.error_temp:
                break
        for ftp in held:
            if in_use() >= limit - 1:
                break
            ftp.sendcmd("PASV")
        assert in_use() == limit - 1, in_use()
        # ...so that the tested session's passive listener takes the last one, and accepting the
        # client's connection on it fails.
        data = tested.transfercmd("RETR big.bin")
        deadline = time.monotonic() + 10
        while "accept failed on a data listener" not in process.log_text():
            assert time.monotonic() < deadline, process.log_tail()
            time.sleep(0.05)
        for ftp in held[:5]:
            ftp.quit()
        received = hashlib.sha256()
        count = 0
        while chunk := data.recv(1 << 20):
            received.update(chunk)
            count += len(chunk)
        data.close()
        data = None
        assert (count, received.hexdigest()) == (big_file.size, big_file.sha256)
        assert tested.voidresp().startswith("226")
        tested.quit()
        warnings = [line for line in process.log_text().splitlines() if "accept failed on a data listener" in line]
        assert len(warnings) == 1 and "ftp.error=too many open files" in warnings[0], warnings
        assert process.alive(), process.log_tail()
    finally:
        if data is not None:
            data.close()
        for ftp in held:
            ftp.close()
        process.stop()
