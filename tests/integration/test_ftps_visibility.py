"""What an operator sees of FTPS through the admin API (`ftplb show`) and GET /metrics, with an
FTPS client through the balancer to a strict FTPS server (FTPS->FTPS): each session's TLS on
both control connections, each live data connection's protection and resumption, and the
handshake and resumption counters of both sides. Addresses: `srvtlsbed.py` (balancer 9, its
admin API on 127.0.122.9:9021).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import urllib.request

import ftpenv
import tlsclients
from srvtlsbed import balancer_on, servers  # noqa: F401  (fixtures)
from test_pools import wait_until
from tlsfixtures import ftps_pki  # noqa: F401  (fixture)

ADMIN = "127.0.122.9:9021"


def show(view: str, json_output: bool = True):
    argv = [str(ftpenv.ftplb_binary()), "show", view, "--admin", ADMIN] + (["--json"] if json_output else [])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if json_output else result.stdout


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            total += float(match.group(2))
    return total


def test_sessions_flows_and_metrics_show_tls_on_both_sides(servers, balancer_on, ftps_pki, big_file):
    """While an FTPS session runs a protected download: `show sessions` (JSON and table) has the
    client's and the server's TLS version and cipher, `show flows` the data connection's `P
    resumed`; afterwards /metrics counts the handshakes and resumptions of both sides."""
    tls = {"mode": "explicit", "certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    host, process = balancer_on(9, servers("vsftpd"), {"mode": "explicit", "ca": str(ftps_pki.ca_cert)}, tls=tls,
                                passive_base=53210, admin={"listen": ADMIN})
    ftp = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), mode="pasv", server_hostname="ftps.test",
                                timeout=60)
    try:
        ftp.connect(host, 21)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
        (session,) = show("sessions")["sessions"]
        assert session["tls"]["version"] == "TLSv1.3" and session["tls"]["cipher"].startswith("TLS_"), session
        assert session["server_tls"]["version"] == "TLSv1.3" and session["server_tls"]["cipher"], session
        table = show("sessions", json_output=False)
        assert table.count("TLSv1.3") == 2 and "SERVER_TLS" in table, table

        conn, _ = ftp.ntransfercmd("RETR big.bin")
        digest = hashlib.sha256()
        digest.update(conn.recv(65536))
        (flow,) = show("flows")["flows"]
        assert flow["client_tls"]["resumed"] is True, flow
        assert "P resumed" in show("flows", json_output=False)
        while chunk := conn.recv(256 * 1024):
            digest.update(chunk)
        conn.unwrap()
        conn.close()
        assert ftp.voidresp().startswith("226")
        assert digest.hexdigest() == big_file.sha256
        ftp.quit()
    finally:
        ftp.close()

    with urllib.request.urlopen(f"http://{ADMIN}/metrics", timeout=30) as response:
        text = response.read().decode()
    for side in ("client", "server"):
        assert metric(text, "ftplb_tls_handshakes_total", side=side, connection="control", result="ok") >= 1, side
        assert metric(text, "ftplb_tls_handshakes_total", side=side, connection="data", result="ok") >= 1, side
        assert metric(text, "ftplb_tls_session_reuse_total", side=side, result="resumed") >= 1, side
    assert metric(text, "ftplb_tls_session_reuse_total", result="refused") == 0
    assert process.alive()


def test_the_trace_shows_both_sides_ftps_commands_and_masks_the_password(servers, balancer_on, ftps_pki, workdir):
    """`ftplb trace --client`: the client's AUTH TLS, PBSZ and PROT (answered by the balancer),
    the balancer's own AUTH TLS, PBSZ 0 and PROT P to the server, and PASS masked; the password
    appears nowhere in the trace."""
    tls = {"mode": "explicit", "certificate": str(ftps_pki.server.chain), "private_key": str(ftps_pki.server.key)}
    host, process = balancer_on(9, servers("vsftpd"), {"mode": "explicit", "ca": str(ftps_pki.ca_cert)}, tls=tls,
                                passive_base=53210, admin={"listen": ADMIN})
    out = workdir / "ftps-trace.out"
    with open(out, "wb") as stdout:
        trace = subprocess.Popen([str(ftpenv.ftplb_binary()), "trace", "--client", "127.0.0.1", "--json",
                                  "--admin", ADMIN], stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: "admin API: trace started" in process.log_text(), 10, "the trace to start")
        ftp = tlsclients.FTPSClient(tlsclients.client_context(ftps_pki.ca_cert), mode="epsv",
                                    server_hostname="ftps.test", timeout=60)
        try:
            ftp.connect(host, 21)
            ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
            ftp.prot_p()
            ftp.nlst()
            ftp.quit()
        finally:
            ftp.close()

        def events() -> list[dict]:
            return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        wait_until(lambda: any(e.get("event") == "session_closed" for e in events()), 10, "the session's end")
    finally:
        trace.kill()
        trace.wait(timeout=5)
    seen = events()
    lines = {(e.get("direction"), e.get("line")) for e in seen}
    for line in ("AUTH TLS", "PBSZ 0", "PROT P", "PASS ****"):
        assert ("client_to_balancer", line) in lines, (line, lines)
    for line in ("AUTH TLS", "PBSZ 0", "PROT P"):
        assert ("balancer_to_server", line) in lines, (line, lines)
    assert ftpenv.FTP_PASSWORD not in out.read_text()

