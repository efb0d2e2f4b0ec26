"""GET /metrics of the admin listener against a balancer carrying real sessions: vsftpd
servers behind it, curl downloads and uploads in each data connection mode in front. The
exposition must parse as Prometheus text (prometheus_client's own parser) and its values must
move by what the test did.

Address plan of this file (apart from the other modules' 127.0.10.x-61.x):
    127.0.62.1:21        the virtual service, advertised as is, passive ports 49000-49049
    127.0.62.1:9021      its admin API, with a token
    127.0.63.1           ftplb's source address towards the servers
    127.0.63.11-12:21    vsftpd m1, m2; passive 49100+100i..+99
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import ftpenv
from ftpenv import Control
from test_pools import wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.62.1"
ADMIN = f"{VIP}:9021"
SOURCE = "127.0.63.1"
SERVERS = {"m1": "127.0.63.11", "m2": "127.0.63.12"}
TOKEN = "it-metrics-token-0123456789"
SERVICE = "metrics"
FILE_SIZE = 300_000


@pytest.fixture(scope="module")
def metrics_farm(workdir, ftp_user):
    running = {}
    payload = os.urandom(FILE_SIZE)
    for index, (name, host) in enumerate(SERVERS.items()):
        root = workdir / f"root-metrics-{name}"
        ftpenv.populate_root(root, name)
        (root / "file.bin").write_bytes(payload)
        (root / "file.bin").chmod(0o644)
        passive = (49100 + 100 * index, 49199 + 100 * index)
        running[name] = ftpenv.start_vsftpd(workdir, f"metrics-{name}", host, 21, passive, root, tls=False)
    yield running
    for server in running.values():
        server.stop()


@pytest.fixture
def balancer(workdir, metrics_farm):
    service = {
        "name": SERVICE, "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": (49000, 49049),
        "source_address": SOURCE, "algorithm": "round_robin",
        "health_check": {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 1, "fall": 1},
        "limits": {"max_sessions_per_client": 2},
        "servers": [{"name": name, "address": f"{host}:21"} for name, host in SERVERS.items()],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }
    config = workdir / "metrics.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], admin={"listen": ADMIN, "token": TOKEN}))
    ftpenv.ensure_port_free(VIP, 9021)
    process = ftpenv.start_ftplb_file(workdir, "metrics", config, [(VIP, 21)])
    ftpenv.wait_for_tcp(VIP, 9021, proc=process)
    yield process
    process.stop()


def scrape(token: str | None = TOKEN) -> tuple[int, str, str]:
    """Status, content type and body of GET /metrics."""
    request = urllib.request.Request(f"http://{ADMIN}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples() -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by name and labels, read with prometheus_client's parser:
    a scrape that is not valid text format fails here."""
    status, content_type, text = scrape()
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4"), (status, content_type)
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(all_samples: dict, name: str, **labels: str) -> float:
    return all_samples.get((name, frozenset({"service": SERVICE, **labels}.items())), 0.0)


@pytest.mark.timeout(120)
def test_metrics_move_with_sessions_transfers_server_failures_and_refusals(balancer, metrics_farm, scratch):
    status, _, _ = scrape(token=None)
    assert status == 401, "/metrics follows the admin token rule"
    wait_until(lambda: all(value(samples(), "ftplb_server_up", server=name) == 1 for name in SERVERS),
               10, "both servers up")

    before = samples()
    assert value(before, "ftplb_passive_ports_total") == 50
    assert value(before, "ftplb_sessions_active") == 0
    modes = ["pasv", "epsv", "port", "eprt"]
    for mode in modes:
        result = ftpenv.curl(VIP, 21, "file.bin", mode, ["--output", str(scratch / f"{mode}.bin")])
        assert result.returncode == 0, result.stderr
        assert (scratch / f"{mode}.bin").stat().st_size == FILE_SIZE
    upload = scratch / "upload.bin"
    upload.write_bytes(os.urandom(FILE_SIZE // 3))
    result = ftpenv.curl(VIP, 21, "uploaded.bin", "epsv", ["--upload-file", str(upload)])
    assert result.returncode == 0, result.stderr

    def moved(after: dict, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Bytes are counted when a data connection ends: wait for the last one to be reported.
    wait_until(lambda: moved(samples(), "ftplb_bytes_total", direction="to_server") == FILE_SIZE // 3,
               10, "the upload's bytes counted")
    after = samples()
    assert moved(after, "ftplb_sessions_total") == len(modes) + 1
    for mode in modes:
        assert moved(after, "ftplb_data_connections_total", mode=mode) == (2 if mode == "epsv" else 1), mode
    assert moved(after, "ftplb_bytes_total", direction="to_client") == len(modes) * FILE_SIZE
    assert value(after, "ftplb_passive_ports_in_use") == 0
    passes = sum(value(after, "ftplb_health_checks_total", server=name, result="pass") for name in SERVERS)
    assert passes >= 2
    assert value(after, "ftplb_health_check_duration_seconds_count", server="m1") >= 1

    # Two sessions from this client are allowed, the third is refused and counted.
    with Control(VIP, 21) as first, Control(VIP, 21) as second:
        assert first.greeting.code == 220 and second.greeting.code == 220
        wait_until(lambda: value(samples(), "ftplb_sessions_active") == 2, 10, "two sessions active")
        with Control(VIP, 21) as third:
            assert third.greeting.code == 421
        wait_until(lambda: moved(samples(), "ftplb_refusals_total", reason="client_session_limit") == 1,
                   10, "the refusal counted")

    # A server that dies shows as down, and its failed checks are counted.
    metrics_farm["m2"].stop()
    wait_until(lambda: value(samples(), "ftplb_server_up", server="m2") == 0, 10, "m2 down")
    final = samples()
    assert value(final, "ftplb_server_up", server="m1") == 1
    assert value(final, "ftplb_health_checks_total", server="m2", result="fail") >= 1
