"""The short soak: 1,000 full sessions (soak_bed's: login, a PASV or EPSV download checked by
sha256, a PORT or EPRT upload checked by SIZE, QUIT) through ftplb to two vsftpd, from four client
processes. Not one may fail, and afterwards the balancer holds what it held before: its idle
descriptors (and at most the relay's 32 pooled pipes), no passive port, no session. `bench/soak.py` is the long run (100,000 sessions).

Address plan of this file (apart from the other modules' addresses):
    127.0.112.5:21, :9021   the virtual service and its admin API, passive ports 52330-52339
    127.0.112.6             ftplb's source address towards the servers
    127.0.112.31-32:21      vsftpd k1, k2, passive 52360-52369 and 52370-52379
    127.0.113.120-123       the client processes
"""

from __future__ import annotations

import os

import pytest

import ftpenv
import soak_bed

pytestmark = pytest.mark.balancer_only

VIP = "127.0.112.5"
ADMIN = f"{VIP}:9021"
SERVERS = {"k1": ("127.0.112.31", (52360, 52369)), "k2": ("127.0.112.32", (52370, 52379))}
SESSIONS = int(os.environ.get("FTPLB_SOAK_SESSIONS", "1000"))


@pytest.mark.timeout(240)
def test_a_thousand_sessions_fail_none_and_leave_nothing_behind(workdir, ftp_user):
    servers, payload = soak_bed.start_vsftpd_servers(workdir, SERVERS, 64 * 1024)
    process = None
    try:
        service = {
            "name": "soak", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (52330, 52339),
            "source_address": "127.0.112.6", "health_check": {"type": "none"},
            "servers": [f"{host}:21" for host, _ in SERVERS.values()], "timeouts": ftpenv.TEST_TIMEOUTS,
        }
        config = workdir / "soak.yaml"
        config.write_text(ftpenv.ftplb_pools_yaml([service], log_level="notice", admin={"listen": ADMIN}))
        process = ftpenv.start_ftplb_file(workdir, "soak", config, [(VIP, 21), (VIP, 9021)])
        before = soak_bed.read_balancer(process.pid, ADMIN)
        readings = [before]
        done, failures, seconds = soak_bed.run_sessions(
            VIP, 21, [f"127.0.113.{120 + n}" for n in range(4)], SESSIONS, payload, os.urandom(16 * 1024),
            while_running=lambda: readings.append(soak_bed.read_balancer(process.pid, ADMIN)))
        after = soak_bed.settled(process.pid, ADMIN, before)
        print(f"\nsoak: {done} sessions in {seconds:.1f} s, {len(failures)} failed\n"
              f"  before: {before.describe()}\n  peak:   {soak_bed.peak(readings).describe()}\n"
              f"  after:  {after.describe()}")
        assert not failures, f"{len(failures)} failed:\n" + "\n".join(failures[:10])
        assert done == SESSIONS
        assert process.alive(), process.log_tail()
        assert soak_bed.peak(readings).sessions > 0, "the readings never saw a session"
        assert (after.sessions, after.passive_ports) == (0, 0), after
        # Every socket and file closed; pipes only the relay's pooled ones.
        assert after.sockets_and_files <= before.sockets_and_files, f"before: {before}, after: {after}"
        assert after.pipes <= before.pipes + soak_bed.POOLED_PIPE_DESCRIPTORS, f"before: {before}, after: {after}"
    finally:
        if process:
            process.stop()
        for server in servers.values():
            server.stop()
