"""The transfer log: one line per finished transfer, written by ftplb while real clients
(curl, ftplib) move files through it to a real vsftpd, in passive and active mode, with a
refused and a cut transfer; then the file is renamed and SIGHUP makes a new one appear.

Address plan of this file:
    127.0.71.1:21        the virtual service, advertised as is; passive ports 43000-43099
    127.0.71.2           ftplb's source address towards the server
    127.0.71.11:21       vsftpd; its passive ports 43100-43199
"""

from __future__ import annotations

import ftplib
import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

import ftpenv
from test_pools import LogWatch, wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.71.1"
SOURCE = "127.0.71.2"
SERVER = "127.0.71.11"
CLIENT = "127.0.0.1"
USER = ftpenv.FTP_USER
XFERLOG_TIME = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$")
# The date is ctime's, 24 characters wide: a one-digit day is padded with a space ("Dec  1"),
# so the line is split after it, never on single spaces from its start.
XFERLOG_TIME_WIDTH = 24


def xferlog_fields(line: str) -> tuple[str, list[str]]:
    """The date of an xferlog line, and its thirteen fields after the date."""
    time_text, rest = line[:XFERLOG_TIME_WIDTH], line[XFERLOG_TIME_WIDTH:]
    assert XFERLOG_TIME.match(time_text) and rest.startswith(" "), line
    return time_text, rest[1:].split(" ")


def config_text(path: Path, format: str) -> str:
    top = {
        "log_level": "debug",
        "admin": {"listen": "none"},
        "transfer_log": {"path": str(path), "format": format},
        "virtual_services": [{
            "name": "xfer", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (43000, 43099),
            "source_address": SOURCE, "servers": [f"{SERVER}:21"], "health_check": {"type": "none"},
            "timeouts": ftpenv.TEST_TIMEOUTS,
        }],
    }
    return "\n".join(ftpenv.yaml_block(top)) + "\n"


@pytest.fixture(scope="module")
def setup(workdir, big_file, ftp_user):
    root = workdir / "root-xferlog"
    ftpenv.populate_root(root, "x1", big_file.path)
    (root / "name with spaces.txt").write_bytes(b"spaces\n")
    (root / "name with spaces.txt").chmod(0o644)
    server = ftpenv.start_vsftpd(workdir, "xferlog-vsftpd", SERVER, 21, (43100, 43199), root, tls=False)
    logs = workdir / "transfer-logs"
    logs.mkdir(exist_ok=True)
    config = workdir / "transfer-log.yaml"
    config.write_text(config_text(logs / "transfers.jsonl", "json"))
    try:
        balancer = ftpenv.start_ftplb_file(workdir, "transfer-log", config, [(VIP, 21)])
    except BaseException:
        server.stop()
        raise
    yield {"root": root, "logs": logs, "config": config, "balancer": balancer,
           "log": LogWatch(balancer.log_path), "big": big_file}
    balancer.stop()
    server.stop()


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_lines(path: Path, count: int, timeout: float = 10.0) -> list[str]:
    wait_until(lambda: len(lines_of(path)) >= count, timeout, f"{count} lines in {path}: {lines_of(path)}")
    return lines_of(path)


def reload(setup, text: str | None = None) -> None:
    log: LogWatch = setup["log"]
    since = log.mark()
    if text is not None:
        setup["config"].write_text(text)
    setup["balancer"].proc.send_signal(signal.SIGHUP)
    log.wait_for("configuration reloaded", since=since)


def cut_download(big: str) -> None:
    """Starts RETR of the big file, reads a little, then closes both connections."""
    ftp = ftpenv.open_ftp(VIP, 21, "epsv")
    ftp.voidcmd("TYPE I")
    conn, _ = ftp.ntransfercmd(f"RETR {big}")
    received = 0
    while received < 256 * 1024:
        chunk = conn.recv(65536)
        assert chunk, "the download ended before it could be cut"
        received += len(chunk)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    conn.close()
    ftp.sock.close()


@pytest.mark.timeout(120)
def test_json_lines_for_every_data_connection(setup, workdir):
    path = setup["logs"] / "transfers.jsonl"
    root: Path = setup["root"]
    upload = workdir / "xferlog-upload.bin"
    upload_sha = ftpenv.make_random_file(upload, 300_000)

    ftpenv.curl(VIP, 21, "small.txt", "epsv").check()
    ftpenv.curl(VIP, 21, "up-pasv.bin", "pasv", extra=["-T", str(upload)]).check()
    with ftpenv.open_ftp(VIP, 21, "port") as ftp:
        ftpenv.ftplib_retrieve(ftp, "server-id.txt", workdir / "xferlog-id.txt")
    with ftpenv.open_ftp(VIP, 21, "eprt") as ftp:
        ftpenv.ftplib_store(ftp, upload, "up-eprt.bin")
        ftp.nlst()
    # curl gives up after SIZE fails, before RETR: its data connection is claimed by no command.
    missing = ftpenv.curl(VIP, 21, "no-such-file.txt", "epsv")
    assert missing.returncode != 0
    for mode, name in (("pasv", "missing-pasv.txt"), ("port", "missing-port.txt")):
        with ftpenv.open_ftp(VIP, 21, mode) as ftp:
            with pytest.raises(ftplib.error_perm, match="^550"):
                ftpenv.ftplib_retrieve(ftp, name, workdir / "xferlog-missing")
    cut_download("big.bin")

    wait_lines(path, 9)
    # The cut download is the last to finish; a late passive connection may add a tenth line.
    wait_until(lambda: '"file":"big.bin"' in path.read_text(), 10, f"the cut download's line in {path}")
    records = [json.loads(line) for line in lines_of(path)]
    by_file = {(r["command"], r["file"]): r for r in records}
    for record in records:
        assert record["session"] > 0 and record["service"] == "xfer"
        assert record["client"] == CLIENT and record["user"] == USER
        assert record["server"] == f"{SERVER}:21" and record["server_address"] == f"{SERVER}:21"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"]), record

    small = by_file[("RETR", "small.txt")]
    assert small["bytes"] == (root / "small.txt").stat().st_size
    assert (small["direction"], small["mode"], small["reply"], small["status"]) == ("download", "epsv", 226, "complete")
    assert small["type"] == "binary"

    pasv = by_file[("STOR", "up-pasv.bin")]
    assert (pasv["bytes"], pasv["direction"], pasv["mode"], pasv["status"]) == (300_000, "upload", "pasv", "complete")
    assert ftpenv.sha256_file(root / "up-pasv.bin") == upload_sha

    port = by_file[("RETR", "server-id.txt")]
    assert (port["bytes"], port["mode"], port["status"]) == (len("x1\n"), "port", "complete")

    eprt = by_file[("STOR", "up-eprt.bin")]
    assert (eprt["bytes"], eprt["mode"], eprt["status"]) == (300_000, "eprt", "complete")
    assert by_file[("NLST", None)]["mode"] == "eprt"

    unclaimed = [(r["mode"], r["bytes"], r["status"]) for r in records if r["command"] is None]
    assert ("epsv", 0, "incomplete") in unclaimed, records
    # Passive: the client connected before RETR, so the line waits for that connection, if the
    # data path has reported it by the time the 550 comes (the splice relay reports it from its
    # own thread and may be later); otherwise that connection gets a line of its own.
    refused = by_file[("RETR", "missing-pasv.txt")]
    assert (refused["reply"], refused["status"], refused["bytes"]) == (550, "incomplete", 0), refused
    assert refused["mode"] == "pasv" or ("pasv", 0, "incomplete") in unclaimed, records
    # Active: the server never connected; the 550 finishes the line at once.
    refused = by_file[("RETR", "missing-port.txt")]
    assert (refused["reply"], refused["status"], refused["bytes"], refused["mode"]) == (550, "incomplete", 0, None)

    cut = by_file[("RETR", "big.bin")]
    assert cut["status"] == "incomplete", cut
    assert 256 * 1024 <= cut["bytes"] < setup["big"].size, cut


@pytest.mark.timeout(120)
def test_xferlog_after_reload_and_a_new_file_after_rename_and_sighup(setup, workdir):
    path = setup["logs"] / "xferlog"
    reload(setup, config_text(path, "xferlog"))
    ftpenv.curl(VIP, 21, "name%20with%20spaces.txt", "epsv").check()
    ftpenv.curl(VIP, 21, "", "epsv").check()  # a listing: not an xferlog line

    first = wait_lines(path, 1)
    time.sleep(0.5)
    assert len(lines_of(path)) == 1, lines_of(path)
    time_text, fields = xferlog_fields(first[0])
    assert len(fields) == 13, first
    # Local time, as wu-ftpd and ProFTPD write it; under a faked date (test_faked_dates.py) too.
    written = time.mktime(time.strptime(time_text, "%a %b %d %H:%M:%S %Y"))
    assert abs(written - time.time()) < 60, (time_text, time.ctime())
    assert fields[1] == CLIENT and fields[2] == str(len(b"spaces\n")) and fields[3] == "name_with_spaces.txt"
    assert fields[4:] == ["b", "_", "o", "r", USER, "ftp", "0", "*", "c"], first

    # logrotate's way: rename, SIGHUP, and the next line lands in a new file.
    rotated = setup["logs"] / "xferlog.1"
    os.rename(path, rotated)
    reload(setup)
    upload = workdir / "xferlog-upload-2.bin"
    ftpenv.make_random_file(upload, 1000)
    ftpenv.curl(VIP, 21, "after-rotate.bin", "port", extra=["-T", str(upload)]).check()
    second = wait_lines(path, 1)
    assert xferlog_fields(second[0])[1][3:8] == ["after-rotate.bin", "b", "_", "i", "r"], second
    assert second[0].endswith(" c")
    assert lines_of(rotated) == first
    assert (path.stat().st_mode & 0o777) == 0o640


@pytest.mark.timeout(60)
def test_unwritable_path_refuses_the_reload_and_keeps_logging(setup, workdir):
    path = setup["logs"] / "xferlog"
    log: LogWatch = setup["log"]
    since = log.mark()
    setup["config"].write_text(config_text(Path("/nonexistent-directory/xferlog"), "xferlog"))
    setup["balancer"].proc.send_signal(signal.SIGHUP)
    line = log.wait_for("configuration reload failed; the running configuration stays", since=since, prefix=True)
    assert "/nonexistent-directory/xferlog" in line.text
    before = len(lines_of(path))
    ftpenv.curl(VIP, 21, "small.txt", "epsv").check()
    wait_lines(path, before + 1)
