"""Control-channel behaviour of one session: rewrites, refusals, framing, odd bytes, TLS.

These use the raw Control connection (exact bytes, ordered replies) or ftplib where the
test is about a transfer's result.
"""

from __future__ import annotations

import ftplib
import io
import os
import socket

import pytest

import checks
import ftpenv
from conftest import FOREIGN_CLIENT_IP, SERVER_NET_PREFIX
from ftpenv import Control

# --------------------------------------------------------------------------------------
# Helpers


def raw_transfer(ctl: Control, host: str, verb: str, command: str, timeout: float = 10.0) -> bytes:
    """Open a passive data connection with `verb` (PASV/EPSV), run `command`, return
    the data; asserts the 1xx/2xx reply pair."""
    reply = ctl.cmd(verb)
    if verb == "PASV":
        data_host, data_port = ftpenv.parse_pasv_reply(reply)
    else:
        assert reply.code == 229, reply
        data_host, data_port = host, ftpenv.parse_epsv_reply(reply)
    with socket.create_connection((data_host, data_port), timeout=timeout) as data:
        start = ctl.cmd(command)
        assert start.code in (125, 150), start
        chunks = []
        for _ in range(100_000):
            chunk = data.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    done = ctl.read_reply()
    assert done is not None and done.code == 226, done
    return b"".join(chunks)


def session_replies(target, modes=ftpenv.MODES) -> list[str]:
    """Every reply line of a session that touches many verbs and every data mode."""
    lines: list[str] = []
    for mode in modes:
        ftp = ftpenv.open_ftp(target.host, target.port, mode)
        try:
            for command in ("FEAT", "PWD", "SYST", "STAT", "HELP", "NOOP", "TYPE I",
                            "SIZE big.bin", "MDTM big.bin", "STAT server-id.txt",
                            "CWD /does-not-exist", "RETR does-not-exist", "PASV", "EPSV"):
                try:
                    ftp.sendcmd(command)
                except ftplib.all_errors:
                    pass  # error replies are recorded too, and must not leak either
            ftp.retrlines("LIST", lambda line: lines.append(line))
            ftp.retrlines("NLST", lambda line: lines.append(line))
            ftp.retrbinary("RETR server-id.txt", lambda data: None)
            ftp.quit()
        finally:
            ftp.close()
        lines += ftp.received
    return lines


# --------------------------------------------------------------------------------------
# Nothing of the inside shows


@pytest.mark.balancer_only
def test_no_reply_names_a_server(target):
    """227 replies are rewritten, and the free text of other replies (STAT shows the
    connection's local address on pyftpdlib) must not give a server away either."""
    lines = session_replies(target)
    checks.assert_no_addresses(lines, target.forbidden_addresses())


@pytest.mark.balancer_only
def test_no_reply_names_the_server_network(target):
    """The contract: no reply contains 127.0.20.x. This is stricter than the test above:
    it also catches the balancer's own server-side source address (vsftpd's STAT says
    "Connected to <control peer>", which is that address)."""
    lines = session_replies(target)
    leaked = checks.lines_naming_prefix(lines, SERVER_NET_PREFIX)
    assert not leaked, f"replies name the server network: {leaked}"


# --------------------------------------------------------------------------------------
# Active mode refusals (FTP bounce, RFC 2577)


def test_port_to_another_host_is_refused(target):
    """PORT/EPRT naming an address other than the client's own get a 5xx, and nothing
    connects to that address (pyftpdlib would connect at PORT time, vsftpd at the
    transfer; after a refusal neither may happen)."""
    decoy = socket.create_server(("127.0.0.9", 0))
    decoy.settimeout(1.0)
    decoy_port = decoy.getsockname()[1]
    with decoy, Control(target.host, target.port) as ctl:
        ctl.login()
        port_arg = f"127,0,0,9,{decoy_port // 256},{decoy_port % 256}"
        for command in (f"PORT {port_arg}", f"EPRT |1|127.0.0.9|{decoy_port}|"):
            reply = ctl.cmd(command)
            assert 500 <= reply.code < 600, f"{command} -> {reply}"
        with pytest.raises(socket.timeout):
            decoy.accept()
        assert ctl.cmd("NOOP").code == 200


def test_port_to_privileged_port_is_refused(target):
    with Control(target.host, target.port) as ctl:
        ctl.login()
        for command in ("PORT 127,0,0,1,0,21", "EPRT |1|127.0.0.1|100|"):
            reply = ctl.cmd(command)
            assert 500 <= reply.code < 600, f"{command} -> {reply}"
        assert ctl.cmd("NOOP").code == 200


def closed_client_port() -> socket.socket:
    """A port of ours that refuses connections: bound (so nobody else gets it), not
    listening. Close the returned socket when done."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def test_active_connection_refused_by_client_gets_an_error_reply(target):
    """PORT names a client port that refuses: whoever connects to it (the server itself,
    or the balancer from the VIP) fails, and the client gets an error reply in bounded
    time, not silence and not a success; the session goes on.

    (A port that accepted at PORT time and is reset later makes pyftpdlib itself hang
    after its 150, so the port refuses from the start.)"""
    with closed_client_port() as reserved, Control(target.host, target.port) as ctl:
        ctl.login()
        port = reserved.getsockname()[1]
        reply = ctl.cmd(f"PORT 127,0,0,1,{port // 256},{port % 256}")
        if reply.code == 200:  # pyftpdlib connects at PORT time and answers 425 right there
            reply = ctl.cmd("NLST", timeout=20)
            if reply.code in (125, 150):
                reply = ctl.read_reply(timeout=20)
        assert reply is not None and 400 <= reply.code < 600, reply
        assert ctl.pending_reply() is None
        assert ctl.cmd("NOOP").code == 200


# --------------------------------------------------------------------------------------
# Passive data connections only from the client


@pytest.mark.balancer_only
@pytest.mark.parametrize("verb", ["PASV", "EPSV"])
def test_passive_port_refuses_another_client_address(target, verb):
    """A connection to the passive port from another address is refused or closed at
    once, gets no data, and the real client's transfer on that port still works.
    (Servers themselves answer such a connection with a 425 on the control connection,
    which is why this is balancer-only.)"""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        assert ctl.cmd("TYPE I").code == 200
        reply = ctl.cmd(verb)
        if verb == "PASV":
            data_host, data_port = ftpenv.parse_pasv_reply(reply)
        else:
            data_host, data_port = target.host, ftpenv.parse_epsv_reply(reply)

        intruder = socket.socket()
        intruder.bind((FOREIGN_CLIENT_IP, 0))
        intruder.settimeout(3.0)
        try:
            intruder.connect((data_host, data_port))
        except ConnectionRefusedError:
            pass
        else:
            try:
                got = intruder.recv(1)
            except ConnectionResetError:
                got = b""
            except socket.timeout:
                pytest.fail("a connection from a foreign address was held open for 3 s")
            assert got == b"", "the foreign connection received data"
        finally:
            intruder.close()

        with socket.create_connection((data_host, data_port), timeout=10) as data:
            start = ctl.cmd("RETR server-id.txt")
            assert start.code in (125, 150), start
            content = data.recv(4096)
        assert content == f"{target.server.name}\n".encode()
        done = ctl.read_reply()
        assert done is not None and done.code == 226, done
        assert ctl.pending_reply() is None
        assert ctl.cmd("NOOP").code == 200


# --------------------------------------------------------------------------------------
# Framing


def test_overlong_command_line(target):
    """> 4096 bytes: a 500 and then either the session goes on or it closes; no hang.
    Through ftplb exactly one 500 (the line is answered, not relayed in pieces);
    servers themselves may answer each piece (pyftpdlib) or close (vsftpd)."""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        ctl.send(b"SITE " + b"A" * 8192)
        first = ctl.read_reply()
        assert first is not None and first.code == 500, first
        try:
            ctl.send("NOOP")
        except (BrokenPipeError, ConnectionResetError):
            return  # closed cleanly after the 500
        extra = []
        for _ in range(10):
            reply = ctl.read_reply()
            if reply is None or reply.code == 200:
                break
            extra.append(reply)
        else:
            pytest.fail(f"no NOOP reply after the overlong line: {extra}")
        assert all(500 <= r.code < 600 for r in extra), extra
        if target.via_balancer:
            assert not extra, f"more than one reply to the overlong line: {extra}"
        if reply is not None:
            assert ctl.cmd("PWD").code == 257


def test_long_but_legal_command_line_passes(target):
    """A 2000-byte line is below every limit (pyftpdlib's own is 2048): relayed, one
    reply, and the session goes on."""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        reply = ctl.cmd(b"SITE " + b"B" * 2000)
        assert reply.code >= 200, reply
        assert ctl.cmd("NOOP").code == 200


# --------------------------------------------------------------------------------------
# Bytes in file names


NON_UTF8_NAME = b"caf\xe9-\x80\x81-\xfe.bin"  # latin-1, invalid as UTF-8
NAME_WITH_FF = b"iac-\xff-byte.bin"  # 0xFF is Telnet IAC; ftplib sends it undoubled


@pytest.mark.parametrize("raw_name", [NON_UTF8_NAME, NAME_WITH_FF], ids=["latin1", "byte-0xff"])
def test_non_utf8_file_name_round_trip(target, raw_name):
    """STOR a name that is not UTF-8; NLST, LIST and the disk show the same bytes and
    RETR returns the content. Servers here take 0xFF literally, so a relay must too."""
    name = raw_name.decode("latin-1")  # latin-1 maps bytes 1:1 to code points
    content = os.urandom(4096)
    on_disk = target.server.root / os.fsdecode(raw_name)
    ftp = ftpenv.open_ftp(target.host, target.port, "pasv", encoding="latin-1")
    try:
        ftp.storbinary(f"STOR {name}", io.BytesIO(content))
        assert on_disk.read_bytes() == content, "stored under another name"
        assert raw_name in [n.encode("latin-1") for n in ftp.nlst()]
        listing: list[str] = []
        ftp.retrlines("LIST", listing.append)
        assert any(line.encode("latin-1").endswith(b" " + raw_name) for line in listing), listing
        chunks: list[bytes] = []
        ftp.retrbinary(f"RETR {name}", chunks.append)
        assert b"".join(chunks) == content
        ftp.delete(name)
        ftp.quit()
    finally:
        ftp.close()
        on_disk.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------
# TLS and FEAT


def feat_lines(reply: ftpenv.Reply) -> list[str]:
    return [line.decode("latin-1").strip().upper() for line in reply.lines[1:-1]]


def test_vsftpd_offers_tls_directly(servers):
    """The premise of the TLS tests: our vsftpd does offer AUTH TLS, so a balancer
    that relayed FEAT and AUTH unchanged would hand the session over to TLS."""
    vsftpd = servers.get("vsftpd")
    with Control(vsftpd.host, vsftpd.port) as ctl:
        features = feat_lines(ctl.cmd("FEAT"))
    assert "AUTH TLS" in features and "PBSZ" in features and "PROT" in features, features


@pytest.mark.balancer_only
def test_auth_tls_is_refused(target):
    with Control(target.host, target.port) as ctl:
        for command in ("AUTH TLS", "AUTH SSL"):
            reply = ctl.cmd(command)
            assert reply.code in (534, 504), f"{command} -> {reply}"
        ctl.login()  # still plain text
        assert ctl.cmd("AUTH TLS").code in (534, 504)
        assert ctl.cmd("NOOP").code == 200


def test_feat_lists_no_tls(target):
    if not target.via_balancer and target.server.offers_tls:
        pytest.skip("vsftpd offers TLS itself; only the balancer filters FEAT")
    with Control(target.host, target.port) as ctl:
        before = ctl.cmd("FEAT")
        ctl.login()
        after = ctl.cmd("FEAT")
    for reply in (before, after):
        assert reply.code == 211, reply
        features = feat_lines(reply)
        tls = [f for f in features if f.split(" ")[0] in ("AUTH", "PBSZ", "PROT")]
        assert not tls, f"FEAT still offers TLS: {tls}"
        assert reply.lines[-1].startswith(b"211 "), "multi-line FEAT not terminated"


def test_lftp_with_its_defaults(target, scratch):
    """lftp out of the box sends AUTH TLS (even when FEAT does not list it) and goes on
    in plain text when refused; its default data mode is PASV."""
    if not target.via_balancer and target.server.offers_tls:
        pytest.skip("direct to vsftpd lftp negotiates TLS and rejects the self-signed certificate")
    result = ftpenv.lftp(target.host, target.port, None, ["ls", "cat server-id.txt"], scratch,
                         defaults=True, timeout=60).check()
    assert result.stdout.endswith(f"{target.server.name}\n".encode()), result.describe()
    assert "AUTH" in result.verbs(), "lftp did not try TLS: the test lost its point"
    target.check_replies(result.replies())


# --------------------------------------------------------------------------------------
# EPSV ALL


def test_epsv_all(target):
    """After EPSV ALL, PASV and PORT are refused and EPSV still works (RFC 2428).
    EPRT is not checked: vsftpd accepts it after EPSV ALL."""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        reply = ctl.cmd("EPSV ALL")
        # pyftpdlib answers 220 rather than 200; any 2xx is an acceptance.
        assert 200 <= reply.code < 300, reply
        for command in ("PASV", "PORT 127,0,0,1,200,10"):
            refused = ctl.cmd(command)
            assert 500 <= refused.code < 600, f"{command} after EPSV ALL -> {refused}"
        listing = raw_transfer(ctl, target.host, "EPSV", "NLST")
        assert b"server-id.txt" in listing
        assert ctl.cmd("NOOP").code == 200


# --------------------------------------------------------------------------------------
# ABOR


@pytest.mark.parametrize("style", ["ftplib", "rfc959"])
def test_abort_keeps_replies_in_order(target, style):
    """ABOR as ftplib sends it (the line as urgent data) and as RFC 959 clients such as
    tnftp send it (Telnet IP, then Synch: IAC DM as urgent data, then the line). Either
    way the session answers the ABOR, then NOOP with 200, then transfers again."""
    with Control(target.host, target.port) as ctl:
        ctl.login()
        assert ctl.cmd("TYPE I").code == 200
        reply = ctl.cmd("EPSV")
        data_port = ftpenv.parse_epsv_reply(reply)
        data = socket.create_connection((target.host, data_port), timeout=10)
        start = ctl.cmd("RETR big.bin")
        assert start.code in (125, 150), start
        received = 0
        for _ in range(10_000):
            chunk = data.recv(65536)
            assert chunk, "transfer ended before the abort"
            received += len(chunk)
            if received >= ftpenv.MIB:
                break
        if style == "ftplib":
            ctl.send(b"ABOR\r\n", urgent=True)
        else:
            ctl.sock.sendall(b"\xff\xf4\xff")  # IAC IP, IAC ...
            ctl.sock.sendall(b"\xf2", socket.MSG_OOB)  # ... DM as the urgent byte
            ctl.send(b"ABOR")
        data.close()
        replies = []
        for _ in range(4):
            reply = ctl.read_reply()
            assert reply is not None, f"connection closed after ABOR: {replies}"
            replies.append(reply)
            if reply.code in (225, 226):
                break
        else:
            pytest.fail(f"ABOR never answered with 225/226: {replies}")
        assert all(r.code in (225, 226, 426, 450, 451) for r in replies), replies
        assert ctl.cmd("NOOP").code == 200, "a stale reply came before the NOOP reply"
        assert raw_transfer(ctl, target.host, "EPSV", "RETR server-id.txt") == \
            f"{target.server.name}\n".encode()
        assert ctl.pending_reply() is None
