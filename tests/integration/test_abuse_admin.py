"""The admin API against a token guesser, with real HTTP requests: after ten requests with a
wrong token within a minute, an address gets 429 with Retry-After for every request (the right
token too) until the minute is over, logged once and counted in /metrics; other addresses and
/healthz are not held back.

Address plan of this file (apart from the other modules' addresses):
    127.0.112.1:21, :9021  the virtual service and its admin API (with a token), passive 52300-52319
    127.0.112.11:21        test_abuse.py's pyftpdlib
    127.0.113.60-61        the guesser and the operator
"""

from __future__ import annotations

import http.client
import json

import pytest

import ftpenv
from test_abuse import PASSIVE, SERVER, SOURCE, VIP, abuse_server  # noqa: F401  (the shared server)

pytestmark = pytest.mark.balancer_only

TOKEN = "abuse-test-token-0123456789"
GUESSER = "127.0.113.60"
OPERATOR = "127.0.113.61"


def request(source: str, path: str, token: str | None) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection(VIP, 9021, timeout=10, source_address=(source, 0))
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read().decode()
    finally:
        connection.close()


def refused_total(reason: str) -> int:
    status, _, text = request(OPERATOR, "/metrics", TOKEN)
    assert status == 200, text
    lines = [line for line in text.splitlines()
             if line.startswith("ftplb_admin_requests_refused_total{") and f'reason="{reason}"' in line]
    return int(float(lines[0].split()[-1])) if lines else 0


def test_a_token_guesser_is_answered_429_until_its_window_is_over(workdir, abuse_server):  # noqa: F811
    service = {
        "name": "abuse-admin", "listen": f"{VIP}:21", "advertise": VIP, "passive_ports": PASSIVE,
        "source_address": SOURCE, "health_check": {"type": "none"}, "servers": [f"{SERVER}:21"],
    }
    config = workdir / "abuse-admin.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service], admin={"listen": f"{VIP}:9021", "token": TOKEN}))
    process = ftpenv.start_ftplb_file(workdir, "abuse-admin", config, [(VIP, 21), (VIP, 9021)])
    try:
        guesses = [request(GUESSER, "/api/v1/services", f"guess-{n:04d}-abcdefghijkl") for n in range(10)]
        assert [status for status, _, _ in guesses] == [401] * 10
        status, headers, text = request(GUESSER, "/api/v1/services", "guess-0010-abcdefghijkl")
        assert status == 429, text
        assert 1 <= int(headers["retry-after"]) <= 60, headers
        assert "try again in" in json.loads(text)["error"]
        # The right token does not get through from that address either: a 429 tells nothing.
        assert request(GUESSER, "/api/v1/services", TOKEN)[0] == 429
        assert request(GUESSER, "/api/v1/pools", None)[0] == 429
        # /healthz needs no token and stays open; another address is served.
        assert request(GUESSER, "/healthz", None)[0] == 200
        assert request(OPERATOR, "/api/v1/services", TOKEN)[0] == 200
        assert refused_total("wrong_token") == 10
        assert refused_total("rate_limited") == 3
        log = process.log_text()
        assert log.count("admin API: too many requests with a wrong token") == 1, log[-3000:]
        assert log.count("admin API: request refused: missing or wrong token") == 10
        # FTP is not touched by any of it.
        with ftpenv.Control(VIP, 21, timeout=15, source=OPERATOR) as ctl:
            ctl.login()
            assert ctl.cmd("QUIT").code == 221
    finally:
        process.stop()
