"""The status page at / of the admin listener, loaded in a real headless Chromium: what it
shows of a balancer with real servers (vsftpd and pyftpdlib) behind it, logged-in sessions and a
rate-limited download in front; that it redraws itself when a server goes down and says so when
the balancer stops answering; and that with a token a browser is asked for Basic credentials.

Address plan of this file (apart from the other modules' 127.0.10.x-63.x):
    127.0.91.1:21        the virtual service, advertised as is, passive ports 51000-51049
    127.0.91.1:9021      its admin API, no token
    127.0.91.2:21        the token-protected instance, passive ports 51050-51099
    127.0.91.2:9021      its admin API, with a token
    127.0.92.1           ftplb's source address towards the servers
    127.0.92.11:21       vsftpd s1; passive 51100-51199
    127.0.92.12:21       pyftpdlib s2; passive 51200-51299
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

import ftpenv
from browser import Browser
from ftpenv import Control
from test_pools import CurlInBackground, wait_until

pytestmark = pytest.mark.balancer_only

VIP = "127.0.91.1"
TOKEN_VIP = "127.0.91.2"
SOURCE = "127.0.92.1"
SERVERS = {"s1": "127.0.92.11", "s2": "127.0.92.12"}
TOKEN = "it-status-token-0123456789"
SERVICE = "status"

# What the page shows of each server row, read from the DOM.
ROWS_JS = """JSON.stringify({
  status: document.getElementById("status").textContent,
  statusClass: document.getElementById("status").className,
  rows: Array.from(document.querySelectorAll("tr.server")).map((row) => ({
    service: row.dataset.service, server: row.dataset.server, classes: row.className.split(" "),
    cells: Object.fromEntries(Array.from(row.cells).map((c) => [c.className.replace("number ", ""), c.textContent])),
  })),
})"""


def service(vip: str, passive: tuple[int, int]) -> dict:
    return {
        "name": SERVICE, "listen": f"{vip}:21", "advertise": vip, "passive_ports": passive,
        "source_address": SOURCE, "algorithm": "round_robin",
        "health_check": {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 1, "fall": 1},
        "servers": [{"name": name, "address": f"{host}:21"} for name, host in SERVERS.items()],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }


@pytest.fixture
def farm(workdir, big_file, ftp_user):
    running = {}
    try:
        for name, host in SERVERS.items():
            root = workdir / f"root-status-{name}"
            ftpenv.populate_root(root, name, big_file.path)
        running["s1"] = ftpenv.start_vsftpd(workdir, "status-s1", SERVERS["s1"], 21, (51100, 51199),
                                            workdir / "root-status-s1", tls=False)
        running["s2"] = ftpenv.start_pyftpdlib(workdir, "status-s2", SERVERS["s2"], 21, (51200, 51299),
                                               workdir / "root-status-s2")
        yield running
    finally:
        for server in running.values():
            server.stop()


@pytest.fixture
def balancer(workdir):
    started = []

    def start(vip: str, passive: tuple[int, int], token: str | None = None):
        admin = {"listen": f"{vip}:9021"}
        if token:
            admin["token"] = token
        config = workdir / f"status-{vip}.yaml"
        config.write_text(ftpenv.ftplb_pools_yaml([service(vip, passive)], admin=admin))
        ftpenv.ensure_port_free(vip, 9021)
        process = ftpenv.start_ftplb_file(workdir, f"status-{vip}", config, [(vip, 21)])
        started.append(process)
        ftpenv.wait_for_tcp(vip, 9021, proc=process)
        return process

    yield start
    for process in started:
        process.stop()


def api(vip: str, view: str) -> dict:
    with urllib.request.urlopen(f"http://{vip}:9021/api/v1/{view}", timeout=10) as answer:
        return json.load(answer)


def page(browser: Browser) -> dict:
    return json.loads(browser.evaluate(ROWS_JS))


def rows_by_server(shown: dict) -> dict:
    return {row["server"]: row for row in shown["rows"]}


@pytest.mark.timeout(150)
def test_the_page_shows_servers_sessions_and_throughput_and_redraws_itself(
        workdir, farm, balancer, scratch):
    lb = balancer(VIP, (51000, 51049))
    wait_until(lambda: all(s["health"] == "up" for s in api(VIP, "pools")["pools"][0]["servers"]),
               15, "both servers up")
    controls: list[Control] = []
    download = None
    try:
        for _ in range(3):
            control = Control(VIP, 21)
            controls.append(control)
            control.login()
        download = CurlInBackground(VIP, "big.bin", scratch / "big.bin", rate=200_000, mode="epsv")
        download.wait_received(50_000)
        # Which server carries what, from the API: the page must show the same.
        wait_until(lambda: len(api(VIP, "flows")["flows"]) == 1, 10, "the download's data connection live")
        sessions = api(VIP, "sessions")["sessions"]
        assert len(sessions) == 4 and all(s["server"] in SERVERS for s in sessions), sessions
        expected = {name: sum(1 for s in sessions if s["server"] == name) for name in SERVERS}
        flow = api(VIP, "flows")["flows"][0]
        carrier = next(s["server"] for s in sessions if s["id"] == flow["session"])
        idle = next(name for name in SERVERS if name != carrier)

        with Browser(workdir, "status-chromium") as browser:
            browser.navigate(f"http://{VIP}:9021/")
            browser.wait_for("document.querySelectorAll('tr.server').length === 2", 15, "two server rows")

            def shows_the_sessions() -> bool:
                rows = rows_by_server(page(browser))
                return all(rows[name]["cells"]["sessions"] == str(count) for name, count in expected.items())

            wait_until(shows_the_sessions, 10, f"the page shows the sessions per server {expected}")
            shown = page(browser)
            assert shown["statusClass"] == "ok" and shown["status"].startswith("updated "), shown["status"]
            rows = rows_by_server(shown)
            assert set(rows) == set(SERVERS)
            for name in SERVERS:
                assert rows[name]["service"] == SERVICE
                assert rows[name]["cells"]["health"] == "up" and "up" in rows[name]["classes"], rows[name]
                assert rows[name]["cells"]["state"] == "enabled"
                assert rows[name]["cells"]["address"] == f"{SERVERS[name]}:21"
                assert rows[name]["cells"]["check"].startswith("ok ")
            assert rows[carrier]["cells"]["flows"] == "1"
            assert rows[carrier]["cells"]["rate"] not in ("0 B/s", ""), rows[carrier]
            assert rows[carrier]["cells"]["bytes"] != "0 B", rows[carrier]
            assert rows[idle]["cells"]["flows"] == "0" and rows[idle]["cells"]["rate"] == "0 B/s"
            totals = browser.evaluate("document.getElementById('totals').textContent")
            assert "sessions 4 active" in totals, totals
            first_update = shown["status"]

            # s2 stops: the page, never reloaded, turns its row red on a later poll.
            farm["s2"].stop()
            wait_until(lambda: rows_by_server(page(browser))["s2"]["cells"]["health"] == "down", 15,
                       "the page shows s2 down without a reload")
            shown = page(browser)
            assert "down" in rows_by_server(shown)["s2"]["classes"]
            assert shown["status"] != first_update, "the page did not refresh itself"
            assert rows_by_server(shown)["s1"]["cells"]["health"] == "up"

            # The download ends: its bytes stay with its server, counted by the pool.
            download.stop()
            wait_until(lambda: rows_by_server(page(browser))[carrier]["cells"]["flows"] == "0", 15,
                       "the page shows the download ended")
            carried = next(s for s in api(VIP, "pools")["pools"][0]["servers"] if s["name"] == carrier)
            assert carried["bytes_to_client"] >= 50_000, carried
            rows = rows_by_server(page(browser))
            assert rows[carrier]["cells"]["bytes"] not in ("0 B", ""), rows[carrier]
            assert rows[idle]["cells"]["bytes"] == "0 B", rows[idle]

            # The balancer stops: the page says so, and keeps the last data.
            lb.stop()
            wait_until(lambda: page(browser)["statusClass"] == "failing", 15, "the page notices the balancer gone")
            shown = page(browser)
            assert "not answering" in shown["status"], shown["status"]
            assert len(shown["rows"]) == 2
    finally:
        if download is not None:
            download.stop()
        for control in controls:
            control.close()


@pytest.mark.timeout(90)
def test_with_a_token_a_browser_is_asked_for_basic_credentials(workdir, balancer):
    balancer(TOKEN_VIP, (51050, 51099), token=TOKEN)
    request = urllib.request.Request(f"http://{TOKEN_VIP}:9021/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"] == 'Basic realm="ftplb"'
    # curl-style Basic works for the API too, bearer still does.
    for authorization in (f"Bearer {TOKEN}", "Basic " + base64.b64encode(f"ops:{TOKEN}".encode()).decode()):
        request = urllib.request.Request(f"http://{TOKEN_VIP}:9021/api/v1/pools",
                                         headers={"Authorization": authorization})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    with Browser(workdir, "status-chromium-token") as browser:
        challenges: list[dict] = []

        def answer(event: dict) -> None:
            # What a person does at the browser's prompt: give a user name and the token.
            if event["method"] == "Fetch.authRequired":
                challenges.append(event["params"]["authChallenge"])
                browser.send("Fetch.continueWithAuth", requestId=event["params"]["requestId"],
                             authChallengeResponse={"response": "ProvideCredentials",
                                                    "username": "ops", "password": TOKEN})
            elif event["method"] == "Fetch.requestPaused":
                browser.send("Fetch.continueRequest", requestId=event["params"]["requestId"])

        browser.on_event = answer
        browser.call("Fetch.enable", handleAuthRequests=True, patterns=[{"urlPattern": "*"}])
        browser.navigate(f"http://{TOKEN_VIP}:9021/")
        browser.wait_for("document.getElementById('status')?.className === 'ok'", 15,
                         "the page loads its data with the token")
        assert challenges and challenges[0]["scheme"].lower() == "basic" and challenges[0]["realm"] == "ftplb"
        rows = rows_by_server(page(browser))
        assert set(rows) == set(SERVERS)
