"""An active/standby pair behind keepalived (see ha_pair_lab.py for the bed): both balancers
run ftplb all the time with listen_freebind, keepalived (the shipped example: unicast, BACKUP +
nopreempt on both, track_script on /healthz) moves the VIP and, for client_address:
transparent, the servers' floating default gateway.

For each client address mode, three failures of the master one after another: keepalived
stopped with SIGTERM (planned), ftplb killed (its /healthz fails), its links cut (box death).
Each prints the time from the failure until a new session through the VIP succeeded, checks
all four FTP modes through the new master, brings the old master back and checks that it does
not take the VIP back.
"""

from __future__ import annotations

import json
import signal
import time

import pytest

import ftpenv
import ha_pair_lab as bed
import ha_topology
from ha_topology import Lab, start_ftplb, wait_until

pytestmark = [pytest.mark.balancer_only(reason="the pair runs ftplb"), pytest.mark.timeout(240)]

ADVERT_INTERVALS = 4  # how long a returning node is watched not to take the VIP back: 4 s


@pytest.fixture(scope="module")
def pair(workdir, big_file, ftp_user):
    ha_topology.remove_stale()
    lab = Lab("pair", workdir)
    left: list[str] = []
    try:
        names = bed.build(lab)
        servers = bed.start_servers(lab, names, workdir, big_file)
        yield lab, names, bed.keepalived_config(lab)
        for server in servers:
            server.stop()
    finally:
        left = lab.destroy()
    assert not left, f"processes not stopped by their tests: {left}"


class Pair:
    """ftplb and keepalived on both balancers, in one client address mode."""

    def __init__(self, lab: Lab, names: dict[str, str], config, client_address: str) -> None:
        self.lab, self.names, self.config, self.client_address = lab, names, config, client_address
        self.ftplb: dict[str, ftpenv.ManagedProcess] = {}
        self.keepalived: dict[str, ftpenv.ManagedProcess] = {}
        if client_address == "transparent":
            yaml = lab.workdir / "ha-pair-setup.yaml"
            yaml.write_text(ftpenv.ftplb_pools_yaml([self.service()]))
            for lb in ("lb1", "lb2"):
                lab.run_in(names[lb], [str(ftpenv.ftplb_binary()), "setup-transparent", "--config", str(yaml),
                                       "--apply"], timeout=30).check_returncode()

    def service(self) -> dict:
        return ha_topology.ftplb_service("pair", bed.VIP, bed.LB_PASSIVE, bed.SERVERS.values(),
                                         client_address=self.client_address)

    def start_ftplb(self, lb: str) -> None:
        self.ftplb[lb] = start_ftplb(self.lab, f"ha-pair-ftplb-{lb}-{self.client_address}", self.names[lb],
                                     [self.service()])

    def start_keepalived(self, lb: str) -> None:
        self.keepalived[lb] = bed.start_keepalived(self.lab, self.names, lb, self.config)

    def master(self) -> str | None:
        return bed.master(self.lab, self.names)

    def wait_master(self, lb: str, timeout: float = 20.0) -> None:
        wait_until(f"{lb} holds the VIP", lambda: self.master() == lb, timeout=timeout)

    def stop(self) -> None:
        for process in [*self.keepalived.values(), *self.ftplb.values()]:
            process.stop()  # SIGTERM: keepalived gives its addresses up


def check_all_modes(lab: Lab, names: dict[str, str]) -> None:
    jobs = [{"source": bed.CLIENT, "mode": mode} for mode in ftpenv.MODES for _ in range(2)]
    results = lab.client(names["c"], "batch", "--host", bed.VIP, "--jobs", json.dumps(jobs), "--workers", "4")
    failed = [r for r in results if not r["ok"]]
    assert not failed, failed
    # Round robin over the two servers: both answered.
    assert {r["server_id"] for r in results} == {"ha-pair-s1", "ha-pair-s2"}, results


def fail_over(pair: Pair, scenario: str, fail, figures: dict) -> str:
    """Fails the master with `fail(lb)`; returns the new master after checking the failover."""
    old = pair.master()
    new = "lb2" if old == "lb1" else "lb1"
    probe = ha_topology.Probe(pair.names["c"], bed.VIP)
    try:
        probe.first_success_after(0)  # the probe works before the failure
        moment = time.monotonic()
        fail(old)
        success = probe.first_success_after(moment)
    finally:
        probe.stop()
    seconds = success["end"] - moment
    figures[f"{pair.client_address}/{scenario}"] = seconds
    print(f"\nfailover {pair.client_address} {scenario}: a new session succeeded {seconds:.2f} s after the failure")
    pair.wait_master(new)
    check_all_modes(pair.lab, pair.names)
    return old


def does_not_take_the_vip_back(pair: Pair, old: str) -> None:
    new = pair.master()
    for _ in range(ADVERT_INTERVALS * 10):
        assert pair.master() == new, f"{old} took the VIP back"
        time.sleep(0.1)


@pytest.mark.parametrize("client_address", ["none", "transparent"])
def test_the_pair_fails_over_three_ways_and_the_old_master_does_not_take_the_vip_back(pair, client_address):
    lab, names, config = pair
    figures: dict[str, float] = {}
    ha = Pair(lab, names, config, client_address)
    try:
        for lb in ("lb1", "lb2"):
            ha.start_ftplb(lb)
        ha.start_keepalived("lb1")
        ha.wait_master("lb1")  # the higher priority wins the first election
        ha.start_keepalived("lb2")
        time.sleep(1)
        assert ha.master() == "lb1"
        check_all_modes(lab, names)

        # Planned: keepalived stopped with SIGTERM on the master.
        old = fail_over(ha, "keepalived stopped", lambda lb: ha.keepalived[lb].proc.send_signal(signal.SIGTERM),
                        figures)
        ha.keepalived[old].proc.wait(timeout=10)
        ha.start_keepalived(old)
        does_not_take_the_vip_back(ha, old)

        # ftplb killed on the master: its /healthz stops answering, keepalived goes to FAULT.
        old = fail_over(ha, "ftplb killed", lambda lb: ha.ftplb[lb].proc.send_signal(signal.SIGKILL), figures)
        ha.ftplb[old].proc.wait(timeout=10)
        ha.start_ftplb(old)
        does_not_take_the_vip_back(ha, old)

        # Box death: both links of the master down.
        def cut(lb: str) -> None:
            for link in ("f", "k"):
                lab.ip(names[lb], "link", "set", link, "down")

        old = fail_over(ha, "links down", cut, figures)
        for link in ("f", "k"):
            lab.ip(names[old], "link", "set", link, "up")
        does_not_take_the_vip_back(ha, old)
        assert not bed.holds_vip(lab, names[old])
    finally:
        ha.stop()
    print(f"\nfailover times ({client_address}): " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))
