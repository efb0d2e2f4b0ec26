"""A scale-out tier: three ftplb nodes behind a router's resilient nexthop group (see
ha_ecmp_lab.py). Every FTP mode from each of forty client addresses; then one node is killed
mid-run: only its sessions fail, its clients' new sessions succeed on the others, nothing is
misrouted; it rejoins, and no established session breaks.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

import ftpenv
import ha_ecmp_lab as bed
import ha_topology
from ha_topology import Lab

pytestmark = [pytest.mark.balancer_only(reason="the tier runs ftplb"), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def tier(workdir, ftp_user):
    ha_topology.remove_stale()
    lab = Lab("ecmp", workdir)
    left: list[str] = []
    try:
        names = bed.build(lab)
        servers = bed.start_servers(lab, names, workdir)
        yield lab, names
        for server in servers:
            server.stop()
    finally:
        left = lab.destroy()
    assert not left, f"processes not stopped by their tests: {left}"


def every_mode(lab: Lab, names: dict[str, str], clients: list[str]) -> None:
    jobs = [{"source": client, "mode": mode} for client in clients for mode in ftpenv.MODES]
    results = lab.client(names["c"], "batch", "--host", bed.VIP, "--jobs", json.dumps(jobs), timeout=180)
    failed = [r for r in results if not r["ok"]]
    assert not failed, f"{len(failed)} of {len(results)} sessions failed: {failed[:5]}"


def test_a_node_leaves_and_rejoins_and_only_its_own_sessions_end(tier):
    lab, names = tier
    nodes = {node: bed.start_node(lab, names, node) for node in bed.NODES}
    router = bed.HealthRouter(names)
    holders: list[bed.Holder] = []
    try:
        every_mode(lab, names, bed.CLIENTS)
        holders.append(bed.Holder(names, bed.CLIENTS))
        placed = bed.sessions_by_node(lab, names, bed.NODES)
        assert sorted(placed) == sorted(bed.CLIENTS), placed
        assert set(placed.values()) == set(bed.NODES), f"a node got no client: {placed}"
        assert all(bed.misrouted(lab, names, node) == 0 for node in bed.NODES)

        # n2 dies mid-run: its held sessions end, the others go on.
        victim = "n2"
        lost = sorted(client for client, node in placed.items() if node == victim)
        probe = ha_topology.Probe(names["c"], bed.VIP, source=lost[0])
        try:
            probe.first_success_after(0)
            moment = time.monotonic()
            nodes[victim].proc.send_signal(signal.SIGKILL)
            nodes[victim].proc.wait(timeout=10)
            change = router.next_change()
            assert change["members"] == [1, 3] and not change["healthy"], change
            moved_after = probe.first_success_after(moment)["end"] - moment
        finally:
            probe.stop()
        answers = holders[0].check("epsv")
        failed = sorted(client for client, answer in answers.items() if not answer.startswith("ok"))
        assert failed == lost, f"sessions that ended: {failed}; sessions on {victim}: {lost}"
        every_mode(lab, names, lost)
        holders.append(bed.Holder(names, lost))
        moved = bed.sessions_by_node(lab, names, ["n1", "n3"])
        assert set(lost) <= set(moved), moved
        for client, node in placed.items():
            if node != victim:
                assert moved[client] == node, f"{client} moved from {node} to {moved[client]}"
        print(f"\necmp: {len(lost)} of {len(bed.CLIENTS)} sessions lost with {victim}, their clients' new "
              f"sessions on the other nodes {moved_after:.2f} s after the kill; {len(bed.CLIENTS) - len(lost)} "
              "sessions on the other nodes went on")

        # n2 comes back: the group takes it again, no established session breaks.
        nodes[victim] = bed.start_node(lab, names, victim, run=1)
        change = router.next_change()
        assert change["members"] == [1, 2, 3] and change["healthy"], change
        for mode in ("port", "eprt", "pasv"):
            for holder in holders:
                answers = holder.check(mode)
                # The first holder's sessions on the killed node ended before the rejoin.
                ended = lost if holder is holders[0] else []
                broken = {c: a for c, a in answers.items() if not a.startswith("ok") and c not in ended}
                assert not broken, f"{mode} after the rejoin: {broken}"
        every_mode(lab, names, bed.CLIENTS[:8])
        assert all(bed.misrouted(lab, names, node) == 0 for node in bed.NODES)
        for holder in holders:
            holder.stop()
        holders.clear()
        wrong_hash_shows(lab, names, nodes)
    finally:
        for holder in holders:
            holder.stop()
        router.stop()
        for process in nodes.values():
            process.stop()


def wrong_hash_shows(lab: Lab, names: dict[str, str], nodes: dict) -> None:
    """The router hashing on ports too (fib_multipath_hash_policy=1) sends data connections to
    other nodes than their control connections: the nodes count and log them at once."""
    lab.sysctl(names["r"], "net.ipv4.fib_multipath_hash_policy=1")
    jobs = [{"source": client, "mode": "pasv"} for client in bed.CLIENTS]
    results = lab.client(names["c"], "batch", "--host", bed.VIP, "--jobs", json.dumps(jobs), timeout=180)
    failed = sum(not r["ok"] for r in results)
    assert failed > 0, "a router hashing on ports cannot have kept every data connection on its node"
    # Each failed session's data connection is counted where it landed, but the rare one that
    # lands on a node that just used that port for the same client (the watch's grace).
    ha_topology.wait_until("misrouted data connections counted",
                           lambda: sum(bed.misrouted(lab, names, node) for node in bed.NODES) > 0, timeout=10)
    time.sleep(0.5)
    counted = int(sum(bed.misrouted(lab, names, node) for node in bed.NODES))
    warned = [node for node, process in nodes.items() if "misrouted data connection:" in process.log_text()]
    assert warned, "no node logged the misrouted data connections"
    print(f"\necmp with a router hashing on ports: {failed} of {len(results)} passive sessions failed, "
          f"misrouted data connections counted: {counted}")
