"""`ftplb trace`: a session's commands and replies as they pass the balancer, followed by the
command as a subprocess while a real client (a raw control connection, ftplib) talks to a
real vsftpd through ftplb.

Address plan of this file:
    127.0.72.1:21        the virtual service, advertised as is; passive ports 43200-43299
    127.0.72.1:9021      its admin API
    127.0.72.2           ftplb's source address towards the server
    127.0.72.11:21       vsftpd; its passive ports 43300-43399
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import ftpenv
from ftpenv import Control
from test_pools import LogWatch, wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.72.1"
ADMIN = f"{VIP}:9021"
SOURCE = "127.0.72.2"
SERVER = "127.0.72.11"
CLIENT = "127.0.0.1"


def config_text() -> str:
    top = {
        "log_level": "debug",
        "admin": {"listen": ADMIN},
        "virtual_services": [{
            "name": "trace", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (43200, 43299),
            "source_address": SOURCE, "servers": [f"{SERVER}:21"], "health_check": {"type": "none"},
            "timeouts": ftpenv.TEST_TIMEOUTS,
        }],
    }
    return "\n".join(ftpenv.yaml_block(top)) + "\n"


@pytest.fixture(scope="module")
def setup(workdir, big_file, ftp_user):
    root = workdir / "root-trace"
    ftpenv.populate_root(root, "t1")
    server = ftpenv.start_vsftpd(workdir, "trace-vsftpd", SERVER, 21, (43300, 43399), root, tls=False)
    config = workdir / "trace.yaml"
    config.write_text(config_text())
    try:
        ftpenv.ensure_port_free(VIP, 9021)
        balancer = ftpenv.start_ftplb_file(workdir, "trace", config, [(VIP, 21)])
        ftpenv.wait_for_tcp(VIP, 9021, proc=balancer)
    except BaseException:
        server.stop()
        raise
    yield {"balancer": balancer, "log": LogWatch(balancer.log_path), "root": root}
    balancer.stop()
    server.stop()


class Trace:
    """`ftplb trace ARGS` in the background, its output collected; stop() ends it for sure."""

    def __init__(self, workdir: Path, name: str, *args: str):
        self.out = workdir / f"{name}.out"
        self.err = workdir / f"{name}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([str(ftpenv.ftplb_binary()), "trace", *args, "--admin", ADMIN],
                                         stdout=out, stderr=err)

    def output(self) -> str:
        return self.out.read_text()

    def wait(self, timeout: float = 10.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def traces(workdir):
    started: list[Trace] = []

    def start(name: str, *args: str) -> Trace:
        trace = Trace(workdir, name, *args)
        started.append(trace)
        return trace

    yield start
    for trace in started:
        trace.stop()


def session_of(control_port: int) -> int:
    """The id of the session whose client connection comes from this local port."""
    result = subprocess.run([str(ftpenv.ftplb_binary()), "show", "sessions", "--json", "--admin", ADMIN],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    for session in json.loads(result.stdout)["sessions"]:
        if session["client"] == f"{CLIENT}:{control_port}":
            return session["id"]
    raise AssertionError(f"no session from port {control_port}: {result.stdout}")


def read_all(sock: socket.socket) -> bytes:
    data = b""
    for _ in range(1000):
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("data connection did not end")


def retr_passive(control: Control, verb: str, name: str) -> None:
    reply = control.cmd(verb)
    port = ftpenv.parse_epsv_reply(reply) if verb == "EPSV" else ftpenv.parse_pasv_reply(reply)[1]
    with socket.create_connection((VIP, port), timeout=10) as data:
        assert control.cmd(f"RETR {name}").code == 150
        read_all(data)
    assert control.read_reply().code == 226


def retr_active(control: Control, name: str) -> None:
    with socket.socket() as listener:
        listener.bind((CLIENT, 0))
        listener.listen(1)
        listener.settimeout(10)
        port = listener.getsockname()[1]
        assert control.cmd(f"PORT 127,0,0,1,{port >> 8},{port & 255}").code == 200
        assert control.cmd(f"RETR {name}").code == 150
        data, _ = listener.accept()
        with data:
            read_all(data)
    assert control.read_reply().code == 226


@pytest.mark.timeout(90)
def test_trace_of_one_session_shows_its_lines_masks_the_password_and_ends_with_it(setup, workdir, traces):
    log: LogWatch = setup["log"]
    with Control(VIP, 21) as control:
        assert control.greeting.code == 220
        session = session_of(control.sock.getsockname()[1])
        since = log.mark()
        trace = traces("trace-session", str(session))
        log.wait_for("admin API: trace started", since=since)
        control.login()
        assert control.cmd("TYPE I").code == 200
        retr_passive(control, "EPSV", "small.txt")
        retr_passive(control, "PASV", "server-id.txt")
        retr_active(control, "small.txt")
        assert control.cmd("QUIT").code == 221
    assert trace.wait(10) == 0, trace.err.read_text()
    output = trace.output()
    lines = output.splitlines()
    assert ftpenv.FTP_PASSWORD not in output
    for line in lines:
        assert f"#{session}" in line, line
    # `10:00:00.123  #12     C->B  USER ftptest`
    texts = [line.split("  ", 1)[1].split(None, 2)[1:] for line in lines]
    assert ["C->B", f"USER {ftpenv.FTP_USER}"] in texts, output
    assert ["C->B", "PASS ****"] in texts, output
    assert any(arrow == "S->B" and text.startswith("331") for arrow, text in texts), output
    # The server's passive replies as received, and as the client got them.
    server_229 = [text for arrow, text in texts if arrow == "S->B" and text.startswith("229")]
    client_229 = [text for arrow, text in texts if arrow == "B->C" and text.startswith("229")]
    assert len(server_229) == 1 and len(client_229) == 1, output
    assert ftpenv.parse_epsv_reply(server_229[0]) in range(43300, 43400)
    assert ftpenv.parse_epsv_reply(client_229[0]) in range(43200, 43300)
    server_227 = [text for arrow, text in texts if arrow == "S->B" and text.startswith("227")]
    client_227 = [text for arrow, text in texts if arrow == "B->C" and text.startswith("227")]
    assert len(server_227) == 1 and SERVER.replace(".", ",") in server_227[0], output
    assert len(client_227) == 1 and VIP.replace(".", ",") in client_227[0], output
    # PORT as the client sent it, and as the balancer sent it on.
    assert any(arrow == "C->B" and text.startswith("PORT 127,0,0,1,") for arrow, text in texts), output
    assert any(arrow == "B->S" and text.startswith("PORT " + SOURCE.replace(".", ",")) for arrow, text in texts), output
    assert sum(1 for arrow, text in texts if arrow == "S->B" and text.startswith("226")) == 3, output
    assert ["C->B", "QUIT"] in texts
    assert lines[-1].endswith("----  session closed"), output
    log.wait_for("admin API: trace ended", since=since)


@pytest.mark.timeout(90)
def test_client_trace_catches_a_session_that_starts_later_in_json(setup, workdir, traces):
    log: LogWatch = setup["log"]
    since = log.mark()
    trace = traces("trace-client", "--client", CLIENT, "--json")
    log.wait_for("admin API: trace started", since=since)
    with ftpenv.open_ftp(VIP, 21, "epsv") as ftp:
        ftp.nlst()
    def events() -> list[dict]:
        return [json.loads(line) for line in trace.output().splitlines()]
    wait_until(lambda: any(e.get("event") == "session_closed" for e in events()), 10, "session closed in the trace")
    assert trace.proc.poll() is None, "a client trace goes on after a session ends"
    seen = events()
    assert ftpenv.FTP_PASSWORD not in trace.output()
    assert {e["client"] for e in seen} == {CLIENT}
    assert {"direction": "client_to_balancer", "line": "PASS ****"}.items() <= next(
        e for e in seen if e["line"].startswith("PASS")).items()
    assert any(e["direction"] == "client_to_balancer" and e["line"] == "NLST" for e in seen)
    for event in seen:
        assert event["time"].endswith("Z") and event["session"] > 0
    trace.proc.send_signal(signal.SIGINT)
    assert trace.wait(10) == 0, trace.err.read_text()
    assert trace.err.read_text() == ""
    log.wait_for("admin API: trace ended", since=since)


@pytest.mark.timeout(60)
def test_unknown_session_exits_1_with_a_message(setup, workdir, traces):
    trace = traces("trace-unknown", "99999")
    assert trace.wait(15) == 1
    assert "no running session 99999" in trace.err.read_text()
    assert trace.output() == ""
