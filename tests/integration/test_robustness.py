"""Resources and logs of the ftplb process: no descriptor or listener outlives the
sessions that made it, and passwords never reach the log."""

from __future__ import annotations

import ftplib
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import ftpenv
from conftest import make_target
from ftpenv import FTP_PASSWORD, Control

pytestmark = pytest.mark.balancer_only

LEAK_TIMEOUTS = {"passive_accept": "2s", "active_connect": "2s", "data_idle": "5s"}


# --------------------------------------------------------------------------------------
# 200 sessions of every shape, clean and unclean


def session_quit(target):
    with Control(target.host, target.port) as ctl:
        ctl.login()
        ctl.cmd("QUIT")


def session_drop_after_greeting(target):
    Control(target.host, target.port).close()


def session_drop_mid_login(target):
    with Control(target.host, target.port) as ctl:
        ctl.cmd("USER ftptest")


def session_transfer(mode: str, command: str):
    def run(target):
        ftp = ftpenv.open_ftp(target.host, target.port, mode, timeout=20)
        try:
            if command == "LIST":
                ftp.retrlines("LIST", lambda line: None)
            elif command == "NLST":
                ftp.nlst()
            else:
                ftp.retrbinary(command, lambda data: None)
            ftp.quit()
        finally:
            ftp.close()
    run.__name__ = f"session_{mode}_{command.split()[0].lower()}"
    return run


def session_passive_never_connected(verb: str, quit: bool):
    """Asks for a passive port and never uses it: its listener must go away."""
    def run(target):
        with Control(target.host, target.port) as ctl:
            ctl.login()
            ctl.cmd(verb)
            if quit:
                ctl.cmd("QUIT")
    run.__name__ = f"session_{verb.lower()}_unused_{'quit' if quit else 'drop'}"
    return run


def session_abort_by_dropping(target):
    """Drops control and data in the middle of a big RETR, without ABOR or QUIT."""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        ctl.cmd("TYPE I")
        port = ftpenv.parse_epsv_reply(ctl.cmd("EPSV"))
        with socket.create_connection((target.host, port), timeout=10) as data:
            reply = ctl.cmd("RETR big.bin")
            assert reply.code in (125, 150), reply
            data.recv(65536)


def session_active_client_gone(target):
    """PORT to a client port that refuses, NLST, and the client leaves without waiting:
    the failed active connect must not leave anything behind. (That the session answers
    such a transfer is test_protocol's business.)"""
    with socket.socket() as reserved, Control(target.host, target.port) as ctl:
        reserved.bind(("127.0.0.1", 0))
        port = reserved.getsockname()[1]
        ctl.login()
        reply = ctl.cmd(f"PORT 127,0,0,1,{port // 256},{port % 256}")
        if reply.code == 200:
            ctl.send("NLST")


SESSION_KINDS = [
    session_quit,
    session_drop_after_greeting,
    session_drop_mid_login,
    session_transfer("pasv", "LIST"),
    session_transfer("epsv", "RETR server-id.txt"),
    session_transfer("port", "LIST"),
    session_transfer("eprt", "NLST"),
    session_passive_never_connected("PASV", quit=False),
    session_passive_never_connected("EPSV", quit=True),
    session_abort_by_dropping,
    session_active_client_gone,
]


def wait_until_stable(sample, settle: float = 1.0, timeout: float = 20.0):
    """The value of sample() once it has not changed for `settle` seconds."""
    deadline = time.monotonic() + timeout
    value, since = sample(), time.monotonic()
    for _ in range(int(timeout / 0.1) + 1):
        time.sleep(0.1)
        current = sample()
        if current != value:
            value, since = current, time.monotonic()
        elif time.monotonic() - since >= settle:
            return value
        if time.monotonic() > deadline:
            break
    return value


def fd_targets(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return sorted(out)


@pytest.mark.timeout(300)
def test_no_descriptor_or_listener_leak_after_200_sessions(servers, direct, balancers):
    server = servers.get("pyftpdlib")  # cheap logins: no PAM, no fork per session
    target = make_target(direct, balancers, [server], key="leaks", timeouts=LEAK_TIMEOUTS)
    pid = target.balancer.process.pid

    # Warm up every code path once, so lazily created resources count in the baseline.
    for kind in SESSION_KINDS * 2:
        kind(target)
    baseline_fds = wait_until_stable(lambda: ftpenv.fd_count(pid), settle=3.0, timeout=30)
    baseline_listeners = ftpenv.listening_sockets(pid)
    baseline_targets = fd_targets(pid)
    print(f"ftplb pid {pid}: {baseline_fds} descriptors, listeners {baseline_listeners}")

    total = 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        kinds = [SESSION_KINDS[i % len(SESSION_KINDS)] for i in range(total)]
        futures = [pool.submit(kind, target) for kind in kinds]
        errors = []
        for kind, future in zip(kinds, futures):
            try:
                future.result(timeout=60)
            except (OSError, ftplib.Error, AssertionError) as error:
                errors.append(f"{kind.__name__}: {error!r}")
    assert not errors, f"{len(errors)} of {total} sessions failed, e.g. {errors[:5]}"
    assert target.balancer.process.alive(), target.balancer.process.log_tail()

    # Passive listeners that were never used close after passive_accept (2 s). The splice
    # relay keeps emptied pipes for the next data connections, up to 32 per relay thread (one
    # here): pipes may outnumber the baseline by that bound, never by one per session.
    def counted() -> tuple[int, int]:
        targets = fd_targets(pid)
        pipes = sum(target.startswith("pipe:") for target in targets)
        return len(targets) - pipes, pipes

    baseline_pipes = sum(target.startswith("pipe:") for target in baseline_targets)
    baseline_others = len(baseline_targets) - baseline_pipes
    deadline = time.monotonic() + 30
    for _ in range(300):
        (others, pipes), listeners = counted(), ftpenv.listening_sockets(pid)
        if others <= baseline_others and listeners == baseline_listeners:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    print(f"after {total} sessions: {others} descriptors and {pipes} pipe ends, listeners {listeners}")
    assert listeners == baseline_listeners, f"listeners before {baseline_listeners}, after {listeners}"
    after_targets = fd_targets(pid)
    extra = sorted(set(after_targets) - set(baseline_targets))
    assert others <= baseline_others, f"{others} descriptors after, {baseline_others} before; new: {extra[:20]}"
    assert pipes <= baseline_pipes + 2 * 32, f"{pipes} pipe ends after, {baseline_pipes} before"


# --------------------------------------------------------------------------------------
# Logs


WRONG_PASSWORD = "Wrong-Secret-4711"


def wait_for_log(balancer: ftpenv.Balancer, predicate, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    text = balancer.log_text()
    for _ in range(int(timeout / 0.1) + 1):
        if predicate(text) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
        text = balancer.log_text()
    return text


def test_session_end_is_logged_with_user(target):
    before = target.balancer.log_text().count("session ended")
    ftp = ftpenv.open_ftp(target.host, target.port)
    ftp.quit()
    text = wait_for_log(target.balancer, lambda t: t.count("session ended") > before)
    ended = [line for line in text.splitlines() if "session ended" in line]
    assert len(ended) > before, "no 'session ended' line"
    assert "ftp.user=ftptest" in ended[-1], ended[-1]


def test_passwords_never_logged(target, balancers):
    """Right and wrong passwords, sent alone and pipelined with USER in one segment;
    then no log of any ftplb instance of this run may contain either."""
    before = target.balancer.log_text().count("session ended")
    ftp = ftpenv.open_ftp(target.host, target.port)
    ftp.quit()
    with Control(target.host, target.port) as ctl:
        ctl.cmd("USER ftptest")
        assert ctl.cmd(f"PASS {WRONG_PASSWORD}").code == 530
        ctl.cmd("QUIT")
    with Control(target.host, target.port) as ctl:
        ctl.sock.sendall(f"USER ftptest\r\nPASS {FTP_PASSWORD}\r\n".encode())
        assert ctl.read_reply().code == 331
        assert ctl.read_reply().code == 230
        ctl.cmd("QUIT")
    wait_for_log(target.balancer, lambda t: t.count("session ended") >= before + 3)
    for balancer in balancers.all():
        text = balancer.log_text()
        for secret in (FTP_PASSWORD, WRONG_PASSWORD):
            leaked = [line for line in text.splitlines() if secret in line]
            assert not leaked, f"{balancer.name} logged a password: {leaked[:3]}"
