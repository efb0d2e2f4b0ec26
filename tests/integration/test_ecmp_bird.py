"""On request only (FTPLB_TEST_BIRD=1): the scale-out bed of test_ecmp.py with BGP instead of a
test-driven nexthop group. Each node runs BIRD with examples/bird/bird.conf (its addresses
put in) and examples/bird/ftplb-bird-health; BIRD in the router learns the VIP from the nodes
and installs it as a multipath route. Checks the announce while /healthz is 200, the withdraw
when a node's ftplb dies, and the announce again when it is back; prints how long each took.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest

import ftpenv
import ha_ecmp_lab as bed
import ha_topology
from ha_topology import Lab, wait_until

pytestmark = [
    pytest.mark.balancer_only(reason="the tier runs ftplb"),
    pytest.mark.skipif(os.environ.get("FTPLB_TEST_BIRD") != "1", reason="BIRD variant: set FTPLB_TEST_BIRD=1"),
    pytest.mark.timeout(180),
]

BIRD = "/usr/sbin/bird"
EXAMPLE = ftpenv.REPO / "examples" / "bird"
ROUTER_CONF = """log stderr all;
router id 10.79.1.1;
protocol device {{ }}
protocol kernel {{ merge paths on; ipv4 {{ import none; export all; }}; }}
protocol bfd {{ {interfaces} }}
{neighbors}
"""
NEIGHBOR = """protocol bgp {node} {{ local 10.79.1{n}.1 as 64500; neighbor 10.79.1{n}.2 as 64511; bfd on;
  hold time 3; keepalive time 1; ipv4 {{ import all; export none; }}; }}"""


def node_conf(lab: Lab, node: str) -> str:
    text = (EXAMPLE / "bird.conf").read_text()
    n = bed.NODES[node]
    for old, new in {"198.51.100.11": bed.uplink(node), "198.51.100.1 ": f"10.79.1{n}.1 ",
                     "192.0.2.10/32": f"{bed.VIP}/32", '"eth1"': '"u"'}.items():
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    return "log stderr all;\n" + text


def start_bird(lab: Lab, ns: str, name: str, text: str) -> tuple[ftpenv.ManagedProcess, str]:
    conf, socket = lab.workdir / f"{name}.conf", str(lab.workdir / f"{name}.ctl")
    conf.write_text(text)
    process = lab.start(name, ns, [BIRD, "-f", "-c", str(conf), "-s", socket, "-P", str(lab.workdir / f"{name}.pid")])
    return process, socket


def router_paths(lab: Lab, names: dict[str, str]) -> set[str]:
    """The nodes the router's route to the VIP goes through."""
    out = lab.ip(names["r"], "route", "show", f"{bed.VIP}/32").stdout.decode()
    return {node for node in bed.NODES if f"dev {node} " in out + " "}


def test_bird_announces_the_vip_while_healthz_is_200_and_withdraws_it_when_not(workdir, ftp_user):
    ha_topology.remove_stale()
    lab = Lab("bird", workdir)
    try:
        names = bed.build(lab, group=False)
        bed.start_servers(lab, names, workdir)
        check = lab.workdir / "ftplb-healthz-check"
        shutil.copy(ftpenv.REPO / "examples" / "keepalived" / "ftplb-healthz-check", check)
        interfaces = " ".join(f'interface "{node}" {{ interval 100 ms; multiplier 3; }};' for node in bed.NODES)
        neighbors = "\n".join(NEIGHBOR.format(node=node, n=n) for node, n in bed.NODES.items())
        start_bird(lab, names["r"], "ha-bird-router", ROUTER_CONF.format(interfaces=interfaces, neighbors=neighbors))
        ftplb = {}
        for node in bed.NODES:
            ftplb[node] = bed.start_node(lab, names, node)
            _, socket = start_bird(lab, names[node], f"ha-bird-{node}", node_conf(lab, node))
            lab.start(f"ha-bird-health-{node}", names[node], ["env", f"FTPLB_HEALTHZ_CHECK={check}",
                      str(EXAMPLE / "ftplb-bird-health"), f"http://{bed.admin(node)}/healthz", socket], group=True)
        start = time.monotonic()
        wait_until("the VIP announced by every node", lambda: router_paths(lab, names) == set(bed.NODES), timeout=60)
        print(f"\nbird: announced by all three nodes {time.monotonic() - start:.1f} s after start")
        jobs = [{"source": client, "mode": mode} for client in bed.CLIENTS[:12] for mode in ftpenv.MODES]
        results = lab.client(names["c"], "batch", "--host", bed.VIP, "--jobs", json.dumps(jobs))
        assert all(r["ok"] for r in results), [r for r in results if not r["ok"]][:5]

        moment = time.monotonic()
        ftplb["n2"].proc.send_signal(signal.SIGKILL)
        wait_until("n2 withdrawn", lambda: router_paths(lab, names) == {"n1", "n3"}, timeout=30)
        print(f"bird: n2 withdrawn {time.monotonic() - moment:.1f} s after its ftplb was killed")
        results = lab.client(names["c"], "batch", "--host", bed.VIP, "--jobs", json.dumps(jobs))
        assert all(r["ok"] for r in results), [r for r in results if not r["ok"]][:5]

        moment = time.monotonic()
        ftplb["n2"] = bed.start_node(lab, names, "n2", run=1)
        wait_until("n2 announced again", lambda: router_paths(lab, names) == set(bed.NODES), timeout=30)
        print(f"bird: n2 announced again {time.monotonic() - moment:.1f} s after its ftplb was started")
    finally:
        lab.destroy()  # stops BIRD, the health loops, ftplb and the servers, then the namespaces
