"""The admin API and `ftplb show` / `ftplb server` against a balancer carrying real sessions:
vsftpd servers behind it, ftplib, raw control connections and a rate-limited curl download
in front, so that sessions, data connections and counters have something to show.

Address plan of this file (apart from conftest's 127.0.10.x-30.x, bench's 127.0.40.x and
test_pools.py's 127.0.50.x-54.x):
    127.0.60.N:21        the virtual service of test setup N, advertised as is,
                         passive ports 48000+50(N-1) .. +49
    127.0.60.N:9021      its admin API (loopback: a token only where the test sets one)
    127.0.61.1           ftplb's source address towards the servers
    127.0.61.11-12:21    vsftpd a1, a2, greeting "220 vsftpd aN ready."; passive 48500+100i..+99
    127.0.0.1:9021       the default admin address, for the quick form (skipped if taken)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import ftpenv
from ftpenv import Control
from test_pools import CurlInBackground, LogWatch, greeting_server, wait_until

pytestmark = pytest.mark.balancer_only

SOURCE = "127.0.61.1"
SERVERS = {"a1": "127.0.61.11", "a2": "127.0.61.12"}
TOKEN = "it-admin-token-0123456789"


def vip(n: int) -> str:
    return f"127.0.60.{n}"


def admin_address(n: int) -> str:
    return f"{vip(n)}:9021"


def service(n: int, algorithm: str = "round_robin", servers: list[dict] | None = None) -> dict:
    first = 48000 + 50 * (n - 1)
    return {
        "name": f"admin{n}", "listen": f"{vip(n)}:21", "advertise": vip(n),
        "passive_ports": (first, first + 49), "source_address": SOURCE, "algorithm": algorithm,
        "health_check": {"type": "ftp", "interval": "300ms", "timeout": "250ms", "rise": 1, "fall": 2},
        "servers": servers if servers is not None else [
            {"name": name, "address": f"{host}:21"} for name, host in SERVERS.items()],
        "timeouts": ftpenv.TEST_TIMEOUTS,
    }


class Balancer:
    """One ftplb from a file of this test, with its admin API on 127.0.60.N:9021."""

    def __init__(self, workdir, n: int, services: list[dict], admin: dict, data_path: dict | None = None):
        self.n = n
        self.config = workdir / f"admin-{n}.yaml"
        self.admin = admin
        self.data_path = data_path
        self.write(services)
        listens = [(vip(n), 21)]
        host, port = admin["listen"].rsplit(":", 1)
        ftpenv.ensure_port_free(host, int(port))
        self.process = ftpenv.start_ftplb_file(workdir, f"admin-{n}", self.config, listens)
        ftpenv.wait_for_tcp(host, int(port), proc=self.process)
        self.log = LogWatch(self.process.log_path)

    def write(self, services: list[dict]) -> None:
        self.config.write_text(ftpenv.ftplb_pools_yaml(services, admin=self.admin, data_path=self.data_path))

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def balancer(workdir):
    started: list[Balancer] = []

    def start(n: int, services: list[dict] | None = None, token: str | None = None,
              data_path: dict | None = None) -> Balancer:
        admin = {"listen": admin_address(n)}
        if token:
            admin["token"] = token
        lb = Balancer(workdir, n, services or [service(n)], admin, data_path)
        started.append(lb)
        return lb

    yield start
    for lb in started:
        lb.stop()


@pytest.fixture(scope="module")
def admin_farm(workdir, big_file, ftp_user):
    running = []
    for index, (name, host) in enumerate(SERVERS.items()):
        root = workdir / f"root-admin-{name}"
        ftpenv.populate_root(root, name, big_file.path)
        passive = (48500 + 100 * index, 48599 + 100 * index)
        running.append(ftpenv.start_vsftpd(workdir, f"admin-{name}", host, 21, passive, root,
                                           tls=False, banner=f"vsftpd {name} ready."))
    yield running
    for server in running:
        server.stop()


def ftplb_cli(*args: str, token: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "FTPLB_ADMIN_TOKEN"}
    environment.update(env or {})
    argv = [str(ftpenv.ftplb_binary()), *args] + (["--token", token] if token else [])
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, env=environment)


def show(n: int, view: str, token: str | None = None) -> dict:
    result = ftplb_cli("show", view, "--json", "--admin", admin_address(n), token=token)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def show_table(n: int, view: str) -> str:
    result = ftplb_cli("show", view, "--admin", admin_address(n))
    assert result.returncode == 0, result.stderr
    return result.stdout


def http(n: int, method: str, path: str, token: str | None = None, body: dict | None = None
         ) -> tuple[int, dict, dict]:
    """Status, JSON and headers of one request, with urllib (a client other than ftplb's)."""
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(f"http://{admin_address(n)}{path}", data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def servers_reached(host: str, count: int) -> list[str]:
    return [greeting_server(host) for _ in range(count)]


# --------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_show_every_view_of_a_balancer_with_live_sessions(admin_farm, balancer, scratch, big_file):
    """services, pools, sessions, flows and stats, as tables and as JSON, while one client
    sits logged in and another downloads at a limited rate, so its data connection is seen
    moving; a refused PORT shows in the counters."""
    lb = balancer(1)
    host = vip(1)
    wait_until(lambda: all(s["health"] == "up" and s["last_check"]
                           for s in show(1, "pools")["pools"][0]["servers"]), 10, "both servers up")
    idle = Control(host, 21)
    curl = CurlInBackground(host, "big.bin", scratch / "big.bin", rate=max(512 * 1024, big_file.size // 40))
    try:
        idle.login()
        bounce = idle.cmd("PORT 127,0,99,1,200,10")  # not the client's address: FTP bounce
        assert bounce.code == 504, bounce
        curl.wait_received(256 * 1024)

        services = show(1, "services")["services"]
        assert [(s["name"], s["listen"], s["passive_ports"]) for s in services] == \
            [("admin1", f"{host}:21", "48000-48049")]
        assert services[0]["active_sessions"] == 2
        table = show_table(1, "services").splitlines()
        assert table[0].split() == ["NAME", "LISTEN", "ADVERTISE", "PASSIVE", "ALGORITHM",
                                    "CLIENT_ADDRESS", "SERVERS", "SESSIONS"]
        assert table[1].split() == ["admin1", f"{host}:21", host, "48000-48049", "round_robin",
                                    "none", "2", "2"]

        pools = show(1, "pools")["pools"][0]["servers"]
        assert [(s["name"], s["state"], s["health"], s["weight"]) for s in pools] == \
            [("a1", "enabled", "up", 1), ("a2", "enabled", "up", 1)]
        assert all(s["last_check"]["passed"] for s in pools)
        assert sum(s["active_sessions"] for s in pools) == 2
        assert "ok " in show_table(1, "pools")

        sessions = show(1, "sessions")["sessions"]
        assert len(sessions) == 2, sessions
        by_state = {s["state"]: s for s in sessions}
        assert set(by_state) == {"idle", "transferring"}, sessions
        assert by_state["idle"]["last_command"].startswith("PORT ")
        assert by_state["idle"]["user"] == ftpenv.FTP_USER
        assert by_state["idle"]["client"] == "%s:%d" % idle.sock.getsockname()[:2]
        transferring = by_state["transferring"]
        assert transferring["last_command"] == "RETR big.bin"
        assert transferring["server"] in SERVERS and transferring["data_connections"] == 1
        sessions_table = show_table(1, "sessions")
        assert "transferring" in sessions_table and "RETR big.bin" in sessions_table
        assert "PASS" not in sessions_table

        flows = show(1, "flows")["flows"]
        assert len(flows) == 1, flows
        flow = flows[0]
        assert flow["session"] == transferring["id"] and flow["mode"] == "pasv"
        client_ip, client_port = flow["client_side"]["client"].rsplit(":", 1)
        balancer_ip, balancer_port = flow["client_side"]["balancer"].rsplit(":", 1)
        assert client_ip == "127.0.0.1" and balancer_ip == host and 48000 <= int(balancer_port) <= 48049
        assert flow["server_side"]["balancer"].startswith(SOURCE + ":")
        assert flow["server_side"]["server"].rsplit(":", 1)[0] == SERVERS[transferring["server"]]
        assert flow["direction"] == "to_client" and flow["bytes_to_server"] == 0
        assert flow["bytes_to_client"] > 0 and flow["bytes_per_second"] > 0
        first = flow["bytes_to_client"]
        wait_until(lambda: show(1, "flows")["flows"][0]["bytes_to_client"] > first, 10, "the flow's bytes grow")
        flows_table = show_table(1, "flows")
        assert "PASV" in flows_table and f"> {host}:{balancer_port}" in flows_table

        stats = show(1, "stats")["services"][0]
        assert stats["service"] == "admin1" and stats["sessions_active"] == 2
        assert stats["sessions_total"] >= 2
        assert stats["data_connections"]["pasv"] == 1
        assert stats["rewritten_replies"] >= 1  # the 227 reply
        assert stats["refusals"] == {"bounce_address": 1}
        assert "bounce_address=1" in show_table(1, "stats")
    finally:
        curl.stop()
        idle.close()
    wait_until(lambda: not show(1, "flows")["flows"], 10, "the killed download's flow ends")
    wait_until(lambda: show(1, "stats")["services"][0]["bytes_to_client"] >= first, 10,
               "an ended flow's bytes are counted")
    assert lb.process.alive()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("relay, n", [("splice", 8), ("copy", 9)])
def test_a_flow_counts_what_the_client_has_taken(admin_farm, balancer, big_file, relay, n):
    """A client reads a download slowly: the flow shows what the client's side has acknowledged,
    not what ftplb has read from the server into its pipe (splice) or buffers (copy) and the
    sockets' buffers, which run several MiB ahead of a slow reader."""
    balancer(n, data_path={"relay": relay})
    host = vip(n)
    with Control(host, 21) as ctl:
        ctl.login()
        assert ctl.cmd("TYPE I").code == 200
        data_host, port = ftpenv.parse_pasv_reply(ctl.cmd("PASV"))
        data = socket.socket()
        try:
            data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # before connect: a small window
            data.settimeout(10)
            data.connect((data_host, port))
            ctl.send("RETR big.bin")
            assert ctl.read_reply(timeout=10).code == 150
            received = 0
            for _ in range(2000):  # about 4 MiB at about 2 MiB/s
                if received >= 4 * ftpenv.MIB:
                    break
                chunk = data.recv(64 * 1024)
                assert chunk, "the download ended early"
                received += len(chunk)
                time.sleep(0.03)
            time.sleep(0.5)  # the server side fills ftplb's buffers while the client waits
            flow = show(n, "flows")["flows"][0]
            # At most what the client's small receive buffer holds beyond what it has read.
            assert received <= flow["bytes_to_client"] <= received + ftpenv.MIB, (received, flow)
            assert flow["bytes_to_client"] < big_file.size
        finally:
            data.close()


@pytest.mark.timeout(120)
def test_server_actions_change_which_server_new_sessions_reach(admin_farm, balancer):
    """drain, disable, enable and weight through `ftplb server`, each seen in the next
    sessions' servers, in `show pools` and in the log with the caller's address; a reload
    sets them back to the file."""
    lb = balancer(2, [service(2, algorithm="weighted_round_robin")])
    host = vip(2)
    wait_until(lambda: all(s["health"] == "up" for s in show(2, "pools")["pools"][0]["servers"]),
               10, "both servers up")
    assert set(servers_reached(host, 4)) == {"a1", "a2"}

    since = lb.log.mark()
    result = ftplb_cli("server", "drain", "a1", "--admin", admin_address(2))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == \
        "server 'a1' of virtual service 'admin2': state enabled -> draining (until the next reload)"
    assert set(servers_reached(host, 4)) == {"a2"}
    line = lb.log.wait_for("admin API: server changed until the next reload", since,
                           ftp_server="a1", ftp_to="draining")
    assert line.level == "notice" and line.meta["ftp.admin.peer"].startswith("127.0.0.1:"), line
    pools_table = show_table(2, "pools")
    assert "draining*" in pools_table and "the next reload sets it back" in pools_table

    assert ftplb_cli("server", "enable", "a1", "--admin", admin_address(2)).returncode == 0
    # Back to the file's value: no longer an override, so no star and no footnote.
    assert show(2, "pools")["pools"][0]["servers"][0]["admin_override"] == {}
    assert "*" not in show_table(2, "pools")
    assert ftplb_cli("server", "disable", "a2", "--admin", admin_address(2)).returncode == 0
    assert set(servers_reached(host, 4)) == {"a1"}
    assert ftplb_cli("server", "enable", "a2", "--admin", admin_address(2)).returncode == 0

    result = ftplb_cli("server", "weight", "a2", "3", "--admin", admin_address(2), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"service": "admin2", "server": "a2", "setting": "weight",
                                         "from": "1", "to": "3"}
    reached = servers_reached(host, 8)
    assert reached.count("a2") == 6 and reached.count("a1") == 2, reached

    result = ftplb_cli("server", "drain", "nope", "--admin", admin_address(2))
    assert result.returncode == 1
    assert result.stderr.strip() == "ftplb: no server 'nope'; known: a1, a2"

    since = lb.log.mark()
    status, answer, _ = http(2, "POST", "/api/v1/reload")
    assert (status, answer) == (200, {"result": "reloaded", "services": 1})
    lb.log.wait_for("reload: the file's setting replaces an admin change", since,
                    ftp_server="a2", ftp_setting="weight")
    servers = show(2, "pools")["pools"][0]["servers"]
    assert [(s["name"], s["weight"], s["admin_override"]) for s in servers] == \
        [("a1", 1, {}), ("a2", 1, {})]


@pytest.mark.timeout(60)
def test_a_server_name_in_two_services_needs_the_service_named(admin_farm, balancer):
    """A server name used by two virtual services is ambiguous: the API answers 409 naming
    both, the CLI says to pass --service, and with it only that service's server changes."""
    second = service(7)
    second.update(name="admin7b", listen=f"{vip(7)}:2121", passive_ports=(48400, 48449))
    balancer(7, [service(7), second])

    status, answer, _ = http(7, "POST", "/api/v1/servers/a1/drain")
    assert status == 409, answer
    assert answer["services"] == ["admin7", "admin7b"], answer
    refused = ftplb_cli("server", "drain", "a1", "--admin", admin_address(7))
    assert refused.returncode == 1
    assert "several virtual services (admin7, admin7b)" in refused.stderr, refused.stderr

    result = ftplb_cli("server", "drain", "a1", "--service", "admin7b", "--admin", admin_address(7))
    assert result.returncode == 0, result.stderr
    assert "of virtual service 'admin7b'" in result.stdout
    states = {(pool["service"], server["name"]): server["state"]
              for pool in show(7, "pools")["pools"] for server in pool["servers"]}
    assert states[("admin7b", "a1")] == "draining" and states[("admin7", "a1")] == "enabled", states

    unknown = ftplb_cli("server", "drain", "a1", "--service", "nope", "--admin", admin_address(7))
    assert unknown.returncode == 1 and "no virtual service 'nope'; known: admin7, admin7b" in unknown.stderr


@pytest.mark.timeout(60)
def test_a_token_is_required_when_one_is_set(admin_farm, balancer):
    """With admin.token set, a request without it or with a wrong one gets 401 (the CLI
    says how to give one); --token and FTPLB_ADMIN_TOKEN both work."""
    balancer(3, token=TOKEN)
    status, answer, headers = http(3, "GET", "/api/v1/services")
    assert status == 401 and "token" in answer["error"]
    assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert http(3, "GET", "/api/v1/services", token=TOKEN + "x")[0] == 401
    assert http(3, "POST", "/api/v1/servers/a1/drain", token="wrong-token-wrong-token")[0] == 401
    assert http(3, "GET", "/api/v1/services", token=TOKEN)[0] == 200

    refused = ftplb_cli("show", "pools", "--admin", admin_address(3))
    assert refused.returncode == 1 and "--token" in refused.stderr and "FTPLB_ADMIN_TOKEN" in refused.stderr
    assert ftplb_cli("show", "pools", "--admin", admin_address(3), token="not-the-token-at-all").returncode == 1
    assert show(3, "pools", token=TOKEN)["pools"][0]["service"] == "admin3"
    by_env = ftplb_cli("show", "services", "--admin", admin_address(3), env={"FTPLB_ADMIN_TOKEN": TOKEN})
    assert by_env.returncode == 0 and "admin3" in by_env.stdout


def test_check_config_refuses_a_public_admin_listener_without_a_token(workdir):
    config = workdir / "admin-public.yaml"
    config.write_text(ftpenv.ftplb_pools_yaml([service(9)], admin={"listen": "0.0.0.0:9021"}))
    result = ftplb_cli("check-config", str(config))
    assert result.returncode == 2
    assert "admin.listen: the admin API on 0.0.0.0:9021 would be reachable from other hosts " \
           "without a token; set admin.token" in result.stderr
    config.write_text(ftpenv.ftplb_pools_yaml([service(9)], admin={"listen": "0.0.0.0:9021", "token": TOKEN}))
    result = ftplb_cli("check-config", str(config))
    assert result.returncode == 0 and "admin API: 0.0.0.0:9021, token (set)" in result.stdout
    assert TOKEN not in result.stdout


@pytest.mark.timeout(60)
def test_reload_action_applies_a_valid_file_and_refuses_an_invalid_one(admin_farm, balancer):
    lb = balancer(4, [service(4, servers=[{"name": "a1", "address": f"{SERVERS['a1']}:21"}])])
    lb.write([service(4)])
    status, answer, _ = http(4, "POST", "/api/v1/reload")
    assert (status, answer) == (200, {"result": "reloaded", "services": 1})
    assert [s["name"] for s in show(4, "pools")["pools"][0]["servers"]] == ["a1", "a2"]

    lb.config.write_text(lb.config.read_text().replace("algorithm: \"round_robin\"", "algorithm: \"fastest\""))
    status, answer, _ = http(4, "POST", "/api/v1/reload")
    assert status == 422, answer
    assert answer["error"].startswith("configuration reload refused; the running configuration stays: ")
    assert f"{lb.config}:" in answer["error"] and "expected one of round_robin" in answer["error"]
    assert show(4, "services")["services"][0]["algorithm"] == "round_robin"
    assert greeting_server(vip(4)) in SERVERS


def test_no_admin_api_at_the_address_says_what_to_check():
    result = ftplb_cli("show", "services", "--admin", "127.0.60.99:9021")
    assert result.returncode == 1
    assert result.stderr.strip() == \
        "ftplb: no ftplb admin API at 127.0.60.99:9021 (is ftplb running? is admin.listen set?)"


@pytest.mark.timeout(60)
def test_quick_form_serves_the_admin_api_at_its_default_address(admin_farm, workdir):
    """`ftplb run` with the quick flags: `ftplb show` with no --admin reaches it; a reload
    through the API is refused, since there is no file."""
    if ftpenv.is_listening("127.0.0.1", 9021):
        pytest.skip("127.0.0.1:9021 is taken by another program; the quick form's admin API cannot bind it")
    host = vip(5)
    argv = [str(ftpenv.ftplb_binary()), "run", "--listen", f"{host}:21", "--passive-ports", "48200-48249",
            "--source-address", SOURCE, "--server", f"{SERVERS['a1']}:21"]
    ftpenv.ensure_port_free(host, 21)
    process = ftpenv.ManagedProcess("admin-quick", argv, workdir / "admin-quick.log")
    try:
        ftpenv.wait_for_tcp(host, 21, proc=process)
        ftpenv.wait_for_tcp("127.0.0.1", 9021, proc=process)
        result = ftplb_cli("show", "services")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[1].split()[:2] == ["default", f"{host}:21"]
        request = urllib.request.Request("http://127.0.0.1:9021/api/v1/reload", data=b"", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 409
        assert "command-line flags" in json.loads(refused.value.read())["error"]
    finally:
        process.stop()
