"""The active/standby bed of test_ha_pair.py: a client and two balancers on one bridge, the two
balancers and two servers on another; keepalived in each balancer namespace, configured from
examples/keepalived/keepalived.conf with this bed's addresses.

    client 10.78.1.2 ──┐ brf                 brk ┌── s1 10.78.2.21 vsftpd   (default via 10.78.2.1)
    lb1 f 10.78.1.11 ──┤  VIP 10.78.1.10      ├── lb1 k 10.78.2.11
    lb2 f 10.78.1.12 ──┘  (floating)          ├── lb2 k 10.78.2.12   gateway 10.78.2.1 (floating)
                                               └── s2 10.78.2.22 pure-ftpd

The bridges live in a switch namespace of their own ("sw"), so that a balancer's links can be
cut from inside the balancer (box death) while the others stay up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import ftpenv
import ha_topology
from ha_topology import Lab

VIP, GATEWAY, CLIENT = "10.78.1.10", "10.78.2.1", "10.78.1.2"
FRONT = {"lb1": "10.78.1.11", "lb2": "10.78.1.12"}
BACK = {"lb1": "10.78.2.11", "lb2": "10.78.2.12"}
SERVERS = {"s1": "10.78.2.21", "s2": "10.78.2.22"}
LB_PASSIVE = (49400, 49499)
EXAMPLE = ftpenv.REPO / "examples" / "keepalived"


def build(lab: Lab) -> dict[str, str]:
    """The namespaces, by short name."""
    names = {short: lab.add(short) for short in ("sw", "c", "lb1", "lb2", "s1", "s2")}
    sw = names["sw"]
    lab.bridge(sw, "brf")
    lab.bridge(sw, "brk")
    lab.veth(names["c"], "f", sw, "c-f")
    lab.ip(sw, "link", "set", "c-f", "master", "brf")
    lab.ip(names["c"], "addr", "add", f"{CLIENT}/24", "dev", "f")
    for lb in ("lb1", "lb2"):
        for side, bridge, address in (("f", "brf", FRONT[lb]), ("k", "brk", BACK[lb])):
            lab.veth(names[lb], side, sw, f"{lb}-{side}")
            lab.ip(sw, "link", "set", f"{lb}-{side}", "master", bridge)
            lab.ip(names[lb], "addr", "add", f"{address}/24", "dev", side)
        lab.sysctl(names[lb], "net.ipv4.ip_forward=1")
    for server, address in SERVERS.items():
        lab.veth(names[server], "k", sw, f"{server}-k")
        lab.ip(sw, "link", "set", f"{server}-k", "master", "brk")
        lab.ip(names[server], "addr", "add", f"{address}/24", "dev", "k")
        lab.ip(names[server], "route", "add", "default", "via", GATEWAY)
    return names


def start_servers(lab: Lab, names: dict[str, str], workdir: Path, big_file) -> list[ftpenv.FTPServer]:
    started = []
    for short, passive in (("s1", (49000, 49099)), ("s2", (49100, 49199))):
        name = f"ha-pair-{short}"
        root = workdir / f"root-{name}"
        ftpenv.populate_root(root, name, big_file.path)
        if short == "s1":
            server = ftpenv.start_vsftpd(workdir, name, SERVERS[short], 21, passive, root, tls=False,
                                         ns=names[short])
        else:
            server = ftpenv.start_pureftpd(workdir, name, SERVERS[short], 21, passive, root, ns=names[short])
        lab.track(server.process)
        started.append(server)
    return started


def keepalived_config(lab: Lab) -> Path:
    """The shipped example with this bed's interfaces and addresses. enable_script_security is
    left out: the test's copy of the check script lives under /tmp, which others may write."""
    script = lab.workdir / "ftplb-healthz-check"
    shutil.copy(EXAMPLE / "ftplb-healthz-check", script)
    script.chmod(0o755)
    text = (EXAMPLE / "keepalived.conf").read_text()
    replacements = {
        "    enable_script_security\n": "",
        "/usr/lib/ftplb/ftplb-healthz-check": str(script),
        "interface eth0": "interface f", "dev eth0": "dev f", "dev eth1": "dev k",
        "192.0.2.10/24": f"{VIP}/24", "192.0.2.11": FRONT["lb1"], "192.0.2.12": FRONT["lb2"],
        "10.0.2.1/24": f"{GATEWAY}/24",
    }
    for old, new in replacements.items():
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    config = lab.workdir / "ha-pair-keepalived.conf"
    config.write_text(text)
    return config


def start_keepalived(lab: Lab, names: dict[str, str], lb: str, config: Path) -> ftpenv.ManagedProcess:
    """keepalived in the foreground, VRRP only, logging to its own file; stop it with SIGTERM."""
    run = lab.workdir / f"ha-pair-keepalived-{lb}"
    run.mkdir(exist_ok=True)
    return lab.start(f"ha-pair-keepalived-{lb}", names[lb], [
        ha_topology.KEEPALIVED, "--dont-fork", "--log-console", "--log-detail", "--vrrp",
        "--use-file", str(config), "--config-id", lb,
        "--pid", str(run / "keepalived.pid"), "--vrrp_pid", str(run / "vrrp.pid"),
    ])


def holds_vip(lab: Lab, ns: str) -> bool:
    return f"{VIP}/" in lab.ip(ns, "-o", "addr", "show", "dev", "f").stdout.decode()


def master(lab: Lab, names: dict[str, str]) -> str | None:
    """The balancer that holds the VIP, None if none; both holding it is an error."""
    holders = [lb for lb in ("lb1", "lb2") if holds_vip(lab, names[lb])]
    assert len(holders) <= 1, f"both balancers hold the VIP: {holders}"
    return holders[0] if holders else None
