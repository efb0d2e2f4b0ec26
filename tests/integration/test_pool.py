"""Server selection: round robin, concurrency over two servers, a refusing server, an
empty pool, and a server whose 227 replies name another address."""

from __future__ import annotations

import collections
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import ftpenv
from conftest import DOWN_SERVER, MASQUERADE_ADDRESS, make_target
from ftpenv import Control


def server_id(target, mode: str = "pasv") -> str:
    """Which server this session reached, by the file only that server has."""
    ftp = ftpenv.open_ftp(target.host, target.port, mode)
    try:
        chunks: list[bytes] = []
        ftp.retrbinary("RETR server-id.txt", chunks.append)
        ftp.quit()
    finally:
        ftp.close()
    target.check_replies(ftp.received)
    return b"".join(chunks).decode().strip()


@pytest.fixture
def pair(servers, direct, balancers):
    """vsftpd and pyftpdlib behind one virtual service."""
    members = [servers.get("vsftpd"), servers.get("pyftpdlib")]
    target = make_target(direct, balancers, members, key="pair")
    yield target
    target.check_alive()


@pytest.mark.balancer_only
def test_round_robin_alternates(pair):
    seen = [server_id(pair) for _ in range(10)]
    counts = collections.Counter(seen)
    assert counts == {"vsftpd": 5, "pyftpdlib": 5}, seen
    assert all(a != b for a, b in zip(seen, seen[1:])), f"not alternating: {seen}"


@pytest.mark.balancer_only
@pytest.mark.timeout(240)
def test_twenty_concurrent_sessions_over_two_servers(pair, big_file):
    """20 sessions logged in at the same time, each in one of the four modes, each
    moving the big file; both servers serve some of them and every copy is intact."""
    sessions = 20
    everyone_logged_in = threading.Barrier(sessions, timeout=60)

    def one_session(index: int) -> tuple[str, str]:
        mode = ftpenv.MODES[index % len(ftpenv.MODES)]
        ftp = ftpenv.open_ftp(pair.host, pair.port, mode, timeout=120)
        try:
            everyone_logged_in.wait()
            ident: list[bytes] = []
            ftp.retrbinary("RETR server-id.txt", ident.append)
            digest = hashlib.sha256()
            ftp.retrbinary("RETR big.bin", digest.update, blocksize=256 * 1024)
            ftp.quit()
        finally:
            ftp.close()
        pair.check_replies(ftp.received)
        return b"".join(ident).decode().strip(), digest.hexdigest()

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        results = list(pool.map(one_session, range(sessions), timeout=200))
    counts = collections.Counter(ident for ident, _ in results)
    assert set(counts) == {"vsftpd", "pyftpdlib"}, counts
    assert sum(counts.values()) == sessions
    assert all(digest == big_file.sha256 for _, digest in results)


@pytest.mark.balancer_only
def test_refusing_server_is_skipped(servers, direct, balancers):
    """A pool member that refuses connections is skipped; every session reaches a
    live server, quickly, and both live servers keep getting sessions."""
    members = [servers.get("vsftpd"), servers.get("pyftpdlib")]
    balancer = balancers.get("with-down", [DOWN_SERVER, members[0].address, members[1].address])
    target = make_target(direct, balancers, members, key="with-down")
    seen = [server_id(target) for _ in range(9)]
    assert set(seen) == {"vsftpd", "pyftpdlib"}, seen
    assert balancer.process.alive()
    # The operator reads why in plain words, not SwiftNIO's error dump.
    skipped = [line for line in balancer.process.log_text().splitlines()
               if "server did not accept the connection" in line]
    assert skipped and all("ftp.error=connection refused" in line for line in skipped), skipped
    assert not any("SingleConnectionFailure" in line or "errno" in line for line in skipped), skipped


@pytest.mark.balancer_only
def test_no_server_answers_421(balancers):
    balancer = balancers.get("all-down", [DOWN_SERVER])
    for _ in range(3):
        with Control(balancer.host, balancer.port, timeout=15) as ctl:
            assert ctl.greeting is not None and ctl.greeting.code == 421, ctl.greeting
            # The balancer closes after 421 (RFC 959: service not available, closing).
            assert ctl.read_reply(timeout=10) is None
    assert balancer.process.alive()


def test_masquerading_server_direct_premise(servers):
    """Straight to the server, its 227 names an address nobody listens on."""
    masquerade = servers.get("masquerade")
    with Control(masquerade.host, masquerade.port) as ctl:
        ctl.login()
        host, _ = ftpenv.parse_pasv_reply(ctl.cmd("PASV"))
    assert host == MASQUERADE_ADDRESS


@pytest.mark.balancer_only
@pytest.mark.parametrize("mode", ftpenv.MODES)
def test_masquerading_server_is_reached(servers, direct, balancers, mode):
    """The balancer connects to the server's data port at the server's control
    address, not at the address its 227 names."""
    masquerade = servers.get("masquerade")
    target = make_target(direct, balancers, [masquerade], key="masquerade")
    assert server_id(target, mode) == "masquerade"
    target.check_alive()
