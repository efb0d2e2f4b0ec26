"""Real FTP peers for the ftplb integration tests.

Everything here starts real programs (vsftpd, pure-ftpd, a pyftpdlib server, ftplb) as foreground
subprocesses, drives real clients (curl, lftp, Python's ftplib and a raw control
connection) and builds network namespaces. Nothing is left running: every start
returns an object whose stop() the fixtures call, also when a test fails.

Traffic only goes to loopback (127.0.0.0/8) or into namespaces built by NetnsTopology.
Every wait is bounded in time and in number of tries.
"""

from __future__ import annotations

import dataclasses
import ftplib
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterable, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# Debian's pyftpdlib is installed for the system interpreter only; the `python3` on
# PATH may be another one (pyenv).
SYSTEM_PYTHON = "/usr/bin/python3"
VSFTPD = "/usr/sbin/vsftpd"
# Debian's pure-ftpd package conflicts with vsftpd's (both provide ftp-server), so
# scripts/install-test-deps.sh unpacks it into the work tree instead of installing it.
PUREFTPD = Path(os.environ.get("FTPLB_IT_PUREFTPD",
                               REPO / ".test-deps" / "pure-ftpd" / "usr" / "sbin" / "pure-ftpd"))

FTP_USER = "ftptest"
FTP_PASSWORD = "ftptest-pw"

MODES = ("pasv", "epsv", "port", "eprt")
PASSIVE_MODES = ("pasv", "epsv")
ACTIVE_MODES = ("port", "eprt")
MODE_VERB = {"pasv": "PASV", "epsv": "EPSV", "port": "PORT", "eprt": "EPRT"}

MIB = 1024 * 1024


# --------------------------------------------------------------------------------------
# Processes


def ns_prefix(ns: str | None) -> list[str]:
    """argv prefix that runs a command inside network namespace `ns` (or here)."""
    return ["ip", "netns", "exec", ns] if ns else []


def run(argv: Sequence[str], timeout: float = 30.0, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run with a mandatory timeout and readable failures."""
    result = subprocess.run(list(argv), capture_output=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} exited {result.returncode}\n"
            f"stdout: {result.stdout[-2000:]!r}\nstderr: {result.stderr[-2000:]!r}"
        )
    return result


class ManagedProcess:
    """A foreground daemon whose stdout+stderr go to a log file.

    `ip netns exec` execs its command, so the pid is the daemon's own pid either way.
    With group=True stop() signals the daemon's whole process group (it leads one, see
    start_new_session), for daemons whose session processes outlive their master.
    """

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict | None = None,
                 group: bool = False):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.group = group
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # our Ctrl-C must not reach it before teardown does
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        if self.group:
            self._stop_group(grace)
        elif self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()

    def _stop_group(self, grace: float) -> None:
        """SIGTERM to the group, then SIGKILL to whatever is left of it.

        The leader is waited for without being reaped (WNOWAIT): while it is a zombie
        its pid, which is the group id, cannot be reused, so killpg cannot hit a stranger.
        """
        pid = self.proc.pid
        if self.proc.returncode is None:
            self._killpg(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for _ in range(int(grace / 0.05) + 1):
                if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self._killpg(signal.SIGKILL)
            self.proc.wait(timeout=5)

    def _killpg(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def wait_for_tcp(host: str, port: int, timeout: float = 15.0, proc: ManagedProcess | None = None,
                 ns: str | None = None) -> None:
    """Wait until a TCP listener is bound on host:port (in `ns` if given); fail early if
    proc dies.

    It looks at the socket table rather than connecting: a probe connection would be a
    session to a balancer, take a round-robin turn and show up in its counts.
    """
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 1):
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.proc.returncode} before listening on "
                               f"{host}:{port}:\n{proc.log_tail()}")
        if is_listening(host, port, ns):
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    tail = f":\n{proc.log_tail()}" if proc else ""
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s{tail}")


def is_listening(host: str, port: int, ns: str | None = None) -> bool:
    out = run(ns_prefix(ns) + ["ss", "-Hltn", f"sport = :{port}"], timeout=10).stdout.decode()
    # ss writes IPv6 addresses in brackets.
    wanted = (f"{host}:{port}", f"[{host}]:{port}", f"0.0.0.0:{port}", f"*:{port}", f"[::]:{port}")
    return any(line.split()[3] in wanted for line in out.splitlines() if len(line.split()) > 3)


def wait_started(process: "ManagedProcess", host: str, port: int, ns: str | None = None) -> None:
    """Wait until a server just started answers on host:port; stop it if it does not."""
    try:
        wait_for_tcp(host, port, proc=process, ns=ns)
    except BaseException:
        process.stop()
        raise


def ensure_port_free(host: str, port: int, ns: str | None = None) -> None:
    """Refuse to start a daemon where something already listens: waiting for the port
    would otherwise succeed on the stranger (say, a leftover from an earlier run)."""
    if is_listening(host, port, ns):
        raise RuntimeError(f"{host}:{port} is already in use" + (f" in {ns}" if ns else "")
                           + "; a leftover server from an earlier run?")


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def listening_sockets(pid: int, ns: str | None = None) -> list[str]:
    """Local addresses of the TCP listeners that process `pid` holds (from `ss -ltnp`)."""
    out = run(ns_prefix(ns) + ["ss", "-Hltnp"], timeout=10).stdout.decode()
    found = []
    for line in out.splitlines():
        if f"pid={pid}," in line:
            found.append(line.split()[3])
    return sorted(found)


TCP_ECHO_SERVER = r"""
import socket, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
def serve(conn, peer):
    with conn:
        conn.settimeout(60)
        conn.sendall(f"peer {peer[0]}:{peer[1]}\n".encode())
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass
listener = socket.create_server((host, port))
print(f"listening on {host}:{port}", flush=True)
while True:
    conn, peer = listener.accept()
    print(f"connection from {peer[0]}:{peer[1]}", flush=True)
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
"""


def start_tcp_echo(workdir: Path, name: str, host: str, port: int, ns: str | None = None) -> ManagedProcess:
    """A plain TCP service (not FTP) on host:port: it greets each connection with
    `peer IP:PORT` (the address it sees) and echoes what it receives."""
    ensure_port_free(host, port, ns)
    process = ManagedProcess(name, ns_prefix(ns) + [SYSTEM_PYTHON, "-c", TCP_ECHO_SERVER, host, str(port)],
                             workdir / f"{name}.log")
    wait_started(process, host, port, ns)
    return process


# --------------------------------------------------------------------------------------
# Files


def make_random_file(path: Path, size: int) -> str:
    """Write `size` random bytes to path; return their sha256 hex digest."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        remaining = size
        while remaining > 0:
            chunk = os.urandom(min(MIB, remaining))
            digest.update(chunk)
            out.write(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def sha256_file(path: Path, limit: int | None = None) -> str:
    """sha256 of a file, or of its first `limit` bytes."""
    digest = hashlib.sha256()
    remaining = limit if limit is not None else float("inf")
    with open(path, "rb") as f:
        while remaining > 0:
            chunk = f.read(int(min(MIB, remaining)))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def copy_prefix(src: Path, dst: Path, length: int) -> None:
    """dst := the first `length` bytes of src (a partial download, for resume tests)."""
    with open(src, "rb") as i, open(dst, "wb") as o:
        remaining = length
        while remaining > 0:
            chunk = i.read(min(MIB, remaining))
            if not chunk:
                break
            o.write(chunk)
            remaining -= len(chunk)


def read_from(path: Path, offset: int = 0) -> str:
    """A log file's text from byte `offset` on; "" if the file does not exist yet."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def make_world_readable_dir(path: Path) -> Path:
    """mkdir -p with mode 0755, so that vsftpd's unprivileged session can walk into it."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


# --------------------------------------------------------------------------------------
# The FTP user


def ensure_ftp_user() -> None:
    """Create the system user `ftptest` (vsftpd authenticates local users with PAM).

    Debian's /etc/pam.d/vsftpd requires a shell listed in /etc/shells, so the user gets
    /bin/sh. SHA512 rather than yescrypt keeps 200 logins in a test cheap.
    """
    if run(["id", FTP_USER], check=False).returncode != 0:
        run(["useradd", "--create-home", "--shell", "/bin/sh", FTP_USER])
    shadow = Path("/etc/shadow").read_text()
    entry = next((line for line in shadow.splitlines() if line.startswith(FTP_USER + ":")), "")
    if not entry.split(":")[1].startswith("$6$") or not _password_matches(entry.split(":")[1]):
        run(["chpasswd", "-c", "SHA512"], input=f"{FTP_USER}:{FTP_PASSWORD}\n".encode())


def _password_matches(hashed: str) -> bool:
    result = run(["openssl", "passwd", "-6", "-salt", hashed.split("$")[2], FTP_PASSWORD], check=False)
    return result.returncode == 0 and result.stdout.decode().strip() == hashed


def make_tls_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate, so vsftpd can offer AUTH TLS like a production server."""
    cert, key = directory / "tls-cert.pem", directory / "tls-key.pem"
    if not cert.exists():
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
             "-subj", "/CN=ftplb-integration", "-keyout", str(key), "-out", str(cert)], timeout=60)
    return cert, key


# --------------------------------------------------------------------------------------
# FTP servers


@dataclasses.dataclass
class FTPServer:
    name: str
    kind: str  # "vsftpd" or "pyftpdlib"
    host: str
    port: int
    root: Path
    process: ManagedProcess
    ns: str | None = None
    protocol_log: Path | None = None  # vsftpd's own log (commands and replies)
    passive_ports: tuple[int, int] = (0, 0)
    offers_tls: bool = False
    masquerade: str | None = None
    # The server's own log that names the client's address: vsftpd's protocol log
    # (CONNECT, LOGIN, commands, transfers), pure-ftpd's transfer log (one line per
    # RETR/STOR, starting with the address).
    client_log: Path | None = None
    active_source_port: int | None = None  # where its PORT/EPRT data connections come from

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def client_log_text(self, offset: int = 0) -> str:
        """The client log from byte `offset` on ("" while the server has written none)."""
        return read_from(self.client_log, offset) if self.client_log else ""

    def client_log_size(self) -> int:
        return self.client_log.stat().st_size if self.client_log and self.client_log.exists() else 0

    def stop(self) -> None:
        self.process.stop()


def populate_root(root: Path, server_name: str, big_file: Path | None = None) -> None:
    """The files every server serves: its own identity and the shared big file."""
    make_world_readable_dir(root)
    shutil.chown(root, FTP_USER, FTP_USER)  # vsftpd writes as the logged-in user
    (root / "server-id.txt").write_text(server_name + "\n")
    (root / "small.txt").write_bytes(b"a small file\r\nwith two lines\r\n")
    (root / f"only-on-{server_name}.txt").write_text(server_name + "\n")
    for path in root.iterdir():
        path.chmod(0o644)
    if big_file is not None:
        target = root / "big.bin"
        if not target.exists():
            os.link(big_file, target)  # same filesystem: no copy of 64 MiB per server


def start_vsftpd(workdir: Path, name: str, host: str, port: int, passive_ports: tuple[int, int],
                 root: Path, tls: bool = True, ns: str | None = None,
                 banner: str | None = None, extra: Sequence[str] = ()) -> FTPServer:
    """Start vsftpd in the foreground with a private config.

    vsftpd needs: the config owned by root; background=NO to stay our child; chroot with
    allow_writeable_chroot because the root is writable; isolate=NO so that it does not
    build a network namespace per session (slow, and pointless here). `banner` replaces
    the text of its 220 greeting, so that a client can tell which server it reached;
    `extra` holds more `key=value` lines, written last so that they override (the FTPS
    servers of tlsservers.py give their own ssl_* settings with tls=False).
    """
    protocol_log = workdir / f"{name}.protocol.log"
    lines = [
        "listen=YES", "listen_ipv6=NO", "background=NO",
        f"listen_address={host}", f"listen_port={port}",
        "anonymous_enable=NO", "local_enable=YES", "write_enable=YES", "local_umask=022",
        f"local_root={root}", "chroot_local_user=YES", "allow_writeable_chroot=YES",
        "pasv_enable=YES", f"pasv_min_port={passive_ports[0]}", f"pasv_max_port={passive_ports[1]}",
        "port_enable=YES", "connect_from_port_20=YES", "ftp_data_port=20",
        "seccomp_sandbox=NO", "isolate=NO", "isolate_network=NO",
        "secure_chroot_dir=/var/run/vsftpd/empty", "pam_service_name=vsftpd",
        "max_clients=0", "max_per_ip=0", "delay_failed_login=0", "delay_successful_login=0",
        "idle_session_timeout=120", "data_connection_timeout=60",
        "xferlog_enable=YES", "log_ftp_protocol=YES", f"vsftpd_log_file={protocol_log}",
        "use_localtime=NO", "hide_ids=NO",
    ]
    if banner is not None:
        assert "\n" not in banner, banner
        lines.append(f"ftpd_banner={banner}")
    if tls:
        cert, key = make_tls_certificate(workdir)
        lines += [
            "ssl_enable=YES", f"rsa_cert_file={cert}", f"rsa_private_key_file={key}",
            "allow_anon_ssl=NO", "force_local_logins_ssl=NO", "force_local_data_ssl=NO",
            "require_ssl_reuse=NO",
        ]
    else:
        lines.append("ssl_enable=NO")
    lines += list(extra)  # last: vsftpd keeps the last value of a key, so these override
    Path("/var/run/vsftpd/empty").mkdir(parents=True, exist_ok=True)
    conf = workdir / f"{name}.conf"
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o600)
    ensure_port_free(host, port, ns)
    process = ManagedProcess(name, ns_prefix(ns) + [VSFTPD, str(conf)], workdir / f"{name}.log")
    server = FTPServer(name, "vsftpd", host, port, root, process, ns, protocol_log,
                       passive_ports=passive_ports, offers_tls=tls, client_log=protocol_log,
                       active_source_port=20)
    wait_started(process, host, port, ns)
    return server


def start_pureftpd(workdir: Path, name: str, host: str, port: int, passive_ports: tuple[int, int],
                   root: Path, ns: str | None = None, extra: Sequence[str] = ()) -> FTPServer:
    """Start pure-ftpd in the foreground (no -B) on host:port, serving `root` to ftptest.

    pure-ftpd logs sessions (connect, login) to syslog only, and nothing reads syslog
    here; its transfer log (--altlog) goes to a file of its own: CLF lines that start
    with the client's address, `10.77.1.2 - ftptest [date] "GET /home/ftptest/f" 200 6`
    (the path is the one outside the chroot). FTPServer.client_log points at it.

    Flags: -S host,port; -l unix: system accounts from /etc/shadow, like vsftpd's users
    (no PAM service file needed); -E: no anonymous; -A: every user chrooted to its home;
    -H: addresses, not names, in the log; -f none: no syslog; -O clf:FILE: the transfer
    log; -p: the passive range; -c/-C: enough sessions for concurrent tests, from one
    address too. Active data connections come from port 20 (pure-ftpd runs as root).

    ftptest's home is the chroot; pure-ftpd runs in a private mount namespace in which
    `root` is bind-mounted over that home, so each instance serves its own root and the
    real home stays untouched. unshare and sh exec, so the pid is pure-ftpd's own.
    Session processes are forked children in pure-ftpd's process group; stop() ends them
    too.
    """
    if not PUREFTPD.exists():
        raise FileNotFoundError(f"pure-ftpd not found at {PUREFTPD}: run scripts/install-test-deps.sh "
                                "(it unpacks it there) or set FTPLB_IT_PUREFTPD")
    home = pwd.getpwnam(FTP_USER).pw_dir
    transfer_log = workdir / f"{name}.xfer-clf.log"
    flags = [
        "-S", f"{host},{port}", "-l", "unix", "-E", "-A", "-H", "-f", "none",
        "-O", f"clf:{transfer_log}", "-p", f"{passive_ports[0]}:{passive_ports[1]}",
        "-c", "200", "-C", "200", "-U", "133:022", *extra,
    ]
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    argv = ns_prefix(ns) + ["unshare", "--mount", "--propagation", "private", "--",
                            "/bin/sh", "-c", script, "pure-ftpd-start", str(root), home,
                            str(PUREFTPD), *flags]
    ensure_port_free(host, port, ns)
    process = ManagedProcess(name, argv, workdir / f"{name}.log", group=True)
    server = FTPServer(name, "pure-ftpd", host, port, root, process, ns,
                       passive_ports=passive_ports, client_log=transfer_log, active_source_port=20)
    wait_started(process, host, port, ns)
    return server


def start_pyftpdlib(workdir: Path, name: str, host: str, port: int, passive_ports: tuple[int, int],
                    root: Path, masquerade: str | None = None, ns: str | None = None,
                    extra: Sequence[str] = ()) -> FTPServer:
    argv = [
        SYSTEM_PYTHON, str(HERE / "pyftpd_server.py"), "--name", name, "--host", host,
        "--port", str(port), "--root", str(root), "--user", FTP_USER, "--password", FTP_PASSWORD,
        "--passive-ports", f"{passive_ports[0]}-{passive_ports[1]}",
    ]
    if masquerade:
        argv += ["--masquerade", masquerade]
    argv += list(extra)
    ensure_port_free(host, port, ns)
    process = ManagedProcess(name, ns_prefix(ns) + argv, workdir / f"{name}.log")
    server = FTPServer(name, "pyftpdlib", host, port, root, process, ns,
                       passive_ports=passive_ports, masquerade=masquerade)
    wait_started(process, host, port, ns)
    return server


# --------------------------------------------------------------------------------------
# The balancer


def ftplb_binary() -> Path:
    return Path(os.environ.get("FTPLB_BIN", REPO / ".build" / "debug" / "ftplb"))


@dataclasses.dataclass
class Balancer:
    name: str
    host: str
    port: int
    advertise: str
    passive_ports: tuple[int, int]
    source_address: str
    servers: list[str]
    config_path: Path
    process: ManagedProcess
    ns: str | None = None

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log_text(self) -> str:
        return self.process.log_text()

    def stop(self) -> None:
        self.process.stop()


# The suite's timeouts: short enough that a test waiting on one stays quick.
TEST_TIMEOUTS = {"server_connect": "2s", "passive_accept": "5s", "active_connect": "5s",
                 "control_idle": "60s", "data_idle": "30s"}


def ftplb_config_yaml(name: str, listen: str, advertise: str, passive_ports: tuple[int, int],
                      source_address: str, servers: Iterable[str], timeouts: dict | None = None,
                      log_level: str = "debug", active_source_port: int = 20) -> str:
    """The YAML of the contract; written by hand so the suite needs no YAML library."""
    timeouts = {**TEST_TIMEOUTS, **(timeouts or {})}
    out = [
        f"log_level: {log_level}",
        # Many balancers run at once in the suite; only test_admin.py needs the admin API.
        "admin: {listen: none}",
        "virtual_services:",
        f"  - name: {name}",
        f"    listen: {listen}",
        f"    advertise: {advertise}",
        f"    passive_ports: {passive_ports[0]}-{passive_ports[1]}",
        f"    source_address: {source_address}",
        f"    active_source_port: {active_source_port}",
        "    servers:",
    ]
    for index, server in enumerate(servers, start=1):
        # Both spellings of the contract: a bare address and a named entry.
        if index % 2:
            out.append(f"      - {server}")
        else:
            out += [f"      - name: s{index}", f"        address: {server}"]
    out.append("    timeouts: { " + ", ".join(f"{k}: {v}" for k, v in timeouts.items()) + " }")
    return "\n".join(out) + "\n"


def start_ftplb(workdir: Path, name: str, host: str, port: int, advertise: str,
                passive_ports: tuple[int, int], source_address: str, servers: Sequence[str],
                timeouts: dict | None = None, ns: str | None = None,
                log_level: str = "debug") -> Balancer:
    binary = ftplb_binary()
    if not binary.exists():
        raise FileNotFoundError(
            f"ftplb binary not found at {binary}: build it (swift build), set FTPLB_BIN, "
            "or run with FTPLB_TARGET=direct")
    config = workdir / f"{name}.yaml"
    config.write_text(ftplb_config_yaml(name, f"{host}:{port}", advertise, passive_ports,
                                        source_address, servers, timeouts, log_level))
    argv = ns_prefix(ns) + [str(binary), "run", "--config", str(config)]
    ensure_port_free(host, port, ns)
    process = ManagedProcess(name, argv, workdir / f"{name}.log")
    balancer = Balancer(name, host, port, advertise, passive_ports, source_address,
                        list(servers), config, process, ns)
    wait_started(process, host, port, ns)
    return balancer


def yaml_scalar(value) -> str:
    """One YAML scalar: numbers and booleans as such, every string double-quoted (JSON
    string syntax is valid YAML), so that `:` or `#` in a message cannot change meaning."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple) and len(value) == 2:  # a port range
        return f"{value[0]}-{value[1]}"
    return json.dumps(str(value))


def yaml_block(value, indent: int = 0) -> list[str]:
    """Block-style YAML for nested dicts and lists of scalars, dicts and lists."""
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{key}:")
                out += yaml_block(item, indent + 2)
            elif isinstance(item, dict):
                out.append(f"{pad}{key}: {{}}")
            elif isinstance(item, list):
                out.append(f"{pad}{key}: []")
            else:
                out.append(f"{pad}{key}: {yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                inner = yaml_block(item, indent + 2)
                out.append(f"{pad}- {inner[0].lstrip()}")
                out += inner[1:]
            else:
                out.append(f"{pad}- {yaml_scalar(item)}")
    else:
        out.append(f"{pad}{yaml_scalar(value)}")
    return out


def ftplb_pools_yaml(services: Sequence[dict], log_level: str = "debug",
                     shutdown_grace: str | None = None, transparent: dict | None = None,
                     admin: dict | None = None, data_path: dict | None = None) -> str:
    """A configuration file with the pool keys (algorithm, weights, states, health checks,
    limits, per_user, client_address): each service is a dict of the file's own keys,
    emitted in order, so a test writes exactly what an operator would. `None` values are
    left out. `transparent` is the top-level section of client_address: transparent
    (fwmark, route_table). The admin API is off unless `admin` gives the section: many
    balancers run at once in the suite."""
    def prune(value):
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    top: dict = {"log_level": log_level}
    if shutdown_grace is not None:
        top["shutdown_grace"] = shutdown_grace
    if transparent is not None:
        top["transparent"] = prune(transparent)
    top["admin"] = admin if admin is not None else {"listen": "none"}
    if data_path is not None:
        top["data_path"] = data_path
    top["virtual_services"] = [prune(service) for service in services]
    return "\n".join(yaml_block(top)) + "\n"


def start_ftplb_file(workdir: Path, name: str, config: Path,
                     listens: Sequence[tuple[str, int]], ns: str | None = None) -> ManagedProcess:
    """Run ftplb on an existing configuration file (in network namespace `ns` if given)
    and wait until every listen address answers; the caller stops the returned process
    (also when its test fails)."""
    binary = ftplb_binary()
    if not binary.exists():
        raise FileNotFoundError(f"ftplb binary not found at {binary}: build it or set FTPLB_BIN")
    for host, port in listens:
        ensure_port_free(host, port, ns)
    process = ManagedProcess(name, ns_prefix(ns) + [str(binary), "run", "--config", str(config)],
                             workdir / f"{name}.log")
    try:
        for host, port in listens:
            wait_for_tcp(host, port, proc=process, ns=ns)
    except BaseException:
        process.stop()
        raise
    return process


# --------------------------------------------------------------------------------------
# Raw control connection


@dataclasses.dataclass
class Reply:
    code: int
    lines: list[bytes]

    @property
    def text(self) -> str:
        return "\n".join(line.decode("latin-1") for line in self.lines)

    def __str__(self) -> str:
        return self.text


class Control:
    """An FTP control connection with exact bytes out and parsed replies in.

    For tests that care about framing and order, where ftplib would hide things.
    Every read has a deadline; EOF is reported as None, never as a hang.
    """

    MAX_LINES = 10_000

    def __init__(self, host: str, port: int, timeout: float = 10.0, source: str | None = None):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self._buffer = b""
        try:
            self.greeting = self.read_reply()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> "Control":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, line: bytes | str, urgent: bool = False) -> None:
        data = line.encode("latin-1") if isinstance(line, str) else line
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        self.sock.sendall(data, socket.MSG_OOB if urgent else 0)

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete reply line; buffered {self._buffer[:200]!r}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return None
            if not data:
                return None
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r")

    def read_reply(self, timeout: float | None = None) -> Reply | None:
        """The next reply, or None if the server closed the connection."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        first = self._read_line(deadline)
        if first is None:
            return None
        if not re.fullmatch(rb"\d{3}([ -].*)?", first, re.S):
            raise AssertionError(f"not an FTP reply line: {first[:200]!r}")
        lines = [first]
        if first[3:4] == b"-":
            for _ in range(self.MAX_LINES):
                line = self._read_line(deadline)
                if line is None:
                    raise AssertionError(f"EOF inside multi-line reply {lines[:5]!r}")
                lines.append(line)
                if line[:3] == first[:3] and line[3:4] in (b" ", b""):
                    break
            else:
                raise AssertionError("multi-line reply longer than MAX_LINES")
        return Reply(int(first[:3]), lines)

    def cmd(self, line: bytes | str, timeout: float | None = None) -> Reply:
        self.send(line)
        reply = self.read_reply(timeout)
        if reply is None:
            raise ConnectionError(f"server closed the connection after {line!r}")
        return reply

    def pending_reply(self, wait: float = 0.5) -> Reply | None:
        """A reply that arrives within `wait` seconds without a command (should be none)."""
        try:
            return self.read_reply(wait)
        except TimeoutError:
            return None

    def login(self, user: str = FTP_USER, password: str = FTP_PASSWORD) -> Reply:
        reply = self.cmd(f"USER {user}")
        if reply.code == 331:
            reply = self.cmd(f"PASS {password}")
        assert reply.code == 230, f"login failed: {reply}"
        return reply


def parse_pasv_reply(reply: Reply | str) -> tuple[str, int]:
    text = reply.text if isinstance(reply, Reply) else reply
    host, port = ftplib.parse227(text.splitlines()[-1])
    return host, port


def parse_epsv_reply(reply: Reply | str) -> int:
    text = reply.text if isinstance(reply, Reply) else reply
    match = re.search(r"\(([!-~])\1\1(\d+)\1\)", text)
    assert match, f"not an EPSV reply: {text}"
    return int(match.group(2))


# --------------------------------------------------------------------------------------
# ftplib client


class FTPClient(ftplib.FTP):
    """ftplib with a chosen data mode: PASV, EPSV, PORT or EPRT.

    ftplib only sends EPSV/EPRT on IPv6 and ignores the address in a 227 reply; this
    subclass sends the verb the test asks for and connects to the address the reply
    names, because that address is what the balancer rewrites. It records the peer of
    every data connection, so a test can see who connected (active) or was reached
    (passive).
    """

    def __init__(self, mode: str = "pasv", timeout: float = 30.0, encoding: str = "utf-8"):
        assert mode in MODES, mode
        super().__init__(timeout=timeout, encoding=encoding)
        self.mode = mode
        self.data_peers: list[tuple[str, int]] = []
        self.data_replies: list[str] = []
        self.received: list[str] = []  # every reply line, for address checks

    def getline(self):
        line = super().getline()
        self.received.append(line)
        return line

    def ntransfercmd(self, cmd, rest=None):
        if self.mode in PASSIVE_MODES:
            if self.mode == "pasv":
                resp = self.sendcmd("PASV")
                host, port = ftplib.parse227(resp)
            else:
                resp = self.sendcmd("EPSV")
                host, port = ftplib.parse229(resp, self.sock.getpeername())
            self.data_replies.append(resp)
            # From the control connection's source address: ftplb refuses passive data
            # connections from any other address than the client's.
            conn = socket.create_connection((host, port), self.timeout, source_address=self.source_address)
            try:
                resp = self._start_transfer(cmd, rest)
            except BaseException:
                conn.close()
                raise
            self.data_peers.append(conn.getpeername()[:2])
        else:
            listen_host = self.sock.getsockname()[0]
            with socket.socket(self.sock.family) as listener:
                # No SO_REUSEADDR (socket.create_server sets it): with it, port 0 can
                # be a port that is in use, and under load connections to it got lost.
                listener.bind((listen_host, 0))
                listener.listen(1)
                listener.settimeout(self.timeout)
                port = listener.getsockname()[1]
                if self.mode == "port":
                    self.sendport(listen_host, port)
                else:
                    self.sendeprt(listen_host, port)
                resp = self._start_transfer(cmd, rest)
                conn, peer = listener.accept()
                conn.settimeout(self.timeout)
                self.data_peers.append(peer[:2])
        size = ftplib.parse150(resp) if resp[:3] == "150" else None
        return conn, size

    def _start_transfer(self, cmd: str, rest) -> str:
        if rest is not None:
            self.sendcmd(f"REST {rest}")
        resp = self.sendcmd(cmd)
        if resp[0] == "2":  # some servers send 200 before 150 (see ftplib)
            resp = self.getresp()
        if resp[0] != "1":
            raise ftplib.error_reply(resp)
        return resp

    def abort_and_collect(self, conn: socket.socket | None, max_replies: int = 4) -> list[str]:
        """ABOR the running transfer the way ftplib does (urgent data), close the data
        connection, and read replies until the one that ends the ABOR (225 or 226).

        vsftpd only notices ABOR once the data connection is gone, so closing it is part
        of the abort; servers may send 426 for the transfer before the ABOR reply.
        """
        self.sock.sendall(b"ABOR\r\n", socket.MSG_OOB)
        if conn is not None:
            conn.close()
        replies = []
        for _ in range(max_replies):
            resp = self.getmultiline()
            replies.append(resp)
            if resp[:3] in ("225", "226"):
                return replies
            assert resp[:1] in ("4", "5", "1"), f"unexpected reply to ABOR: {replies}"
        raise AssertionError(f"no 225/226 after ABOR within {max_replies} replies: {replies}")


def open_ftp(host: str, port: int, mode: str = "pasv", encoding: str = "utf-8",
             timeout: float = 30.0, source: str | None = None) -> FTPClient:
    ftp = FTPClient(mode=mode, timeout=timeout, encoding=encoding)
    if source:
        ftp.source_address = (source, 0)
    ftp.connect(host, port)
    ftp.login(FTP_USER, FTP_PASSWORD)
    return ftp


def ftplib_retrieve(ftp: FTPClient, remote: str, local: Path, rest: int | None = None) -> None:
    with open(local, "ab" if rest else "wb") as out:
        ftp.retrbinary(f"RETR {remote}", out.write, blocksize=256 * 1024, rest=rest)


def ftplib_store(ftp: FTPClient, local: Path, remote: str) -> None:
    with open(local, "rb") as f:
        ftp.storbinary(f"STOR {remote}", f, blocksize=256 * 1024)


# --------------------------------------------------------------------------------------
# curl and lftp


@dataclasses.dataclass
class ClientResult:
    argv: list[str]
    returncode: int
    stdout: bytes
    trace: str  # curl -v / lftp -d output: commands sent and replies received

    def _trace_lines(self, curl_prefix: str, lftp_prefix: str) -> list[str]:
        out = []
        for line in self.trace.splitlines():
            for prefix in (curl_prefix, lftp_prefix):
                if line.startswith(prefix):
                    out.append(line[len(prefix):])
                    break
        return out

    def sent(self) -> list[str]:
        """Commands the client sent, as its trace shows them."""
        return self._trace_lines("> ", "---> ")

    def replies(self) -> list[str]:
        """Reply lines the client received, as its trace shows them."""
        return self._trace_lines("< ", "<--- ")

    def verbs(self) -> list[str]:
        return [cmd.split(" ", 1)[0].upper() for cmd in self.sent()]

    def describe(self) -> str:
        tail = "\n".join(self.trace.splitlines()[-60:])
        return f"{' '.join(self.argv)}\nexit {self.returncode}\n{tail}"

    def check(self) -> "ClientResult":
        assert self.returncode == 0, self.describe()
        return self


# curl tries EPSV before PASV and EPRT before PORT and falls back silently; the flags
# pin one verb and the tests check the trace so a fallback cannot pass unnoticed.
CURL_MODE_FLAGS = {
    # --no-ftp-skip-pasv-ip: use the address in the 227 (curl ignores it by default),
    # because that address is the one the balancer rewrites.
    "pasv": ["--ftp-pasv", "--disable-epsv", "--no-ftp-skip-pasv-ip"],
    "epsv": ["--ftp-pasv", "--epsv"],
    "port": ["--ftp-port", "-", "--disable-eprt"],
    "eprt": ["--ftp-port", "-", "--eprt"],
}


def ftp_url(host: str, port: int, path: str, scheme: str = "ftp") -> str:
    return f"{scheme}://[{host}]:{port}/{path}" if ":" in host else f"{scheme}://{host}:{port}/{path}"


def curl_argv(host: str, port: int, path: str, mode: str, extra: Sequence[str] = (),
              timeout: float = 120.0, ns: str | None = None, scheme: str = "ftp") -> list[str]:
    """The argv of `curl()`, for a caller that runs curl in the background itself."""
    url = ftp_url(host, port, path, scheme)
    return ns_prefix(ns) + [
        "curl", "--silent", "--show-error", "--verbose", "--max-time", str(int(timeout)),
        "--connect-timeout", "10", "--user", f"{FTP_USER}:{FTP_PASSWORD}",
        *CURL_MODE_FLAGS[mode], *extra, url,
    ]


def curl(host: str, port: int, path: str, mode: str, extra: Sequence[str] = (),
         timeout: float = 120.0, ns: str | None = None, scheme: str = "ftp") -> ClientResult:
    """Run curl on ftp://host:port/path (ftps:// for implicit FTPS); `extra` may hold more
    options and URLs before it."""
    argv = curl_argv(host, port, path, mode, extra, timeout, ns, scheme)
    result = subprocess.run(argv, capture_output=True, timeout=timeout + 15)
    return ClientResult(argv, result.returncode, result.stdout, result.stderr.decode("utf-8", "replace"))


# lftp over IPv4 can do PASV, EPSV (ftp:prefer-epsv) and PORT, but not EPRT.
LFTP_MODE_SETTINGS = {
    "pasv": ["set ftp:passive-mode on", "set ftp:prefer-epsv no"],
    "epsv": ["set ftp:passive-mode on", "set ftp:prefer-epsv yes"],
    "port": ["set ftp:passive-mode off"],
}
LFTP_UNSUPPORTED = {
    "eprt": "lftp sends EPRT only for IPv6 data sockets; over IPv4 it always sends PORT",
}
# Make lftp fail fast and visibly instead of retrying or switching modes behind our back.
LFTP_COMMON_SETTINGS = [
    "set cmd:fail-exit yes",
    "set net:max-retries 1",
    "set net:timeout 15",
    "set net:reconnect-interval-base 1",
    "set ftp:auto-passive-mode no",
    "set xfer:clobber yes",
]


def lftp(host: str, port: int, mode: str | None, commands: Sequence[str], workdir: Path,
         timeout: float = 120.0, ns: str | None = None, defaults: bool = False,
         tls_settings: Sequence[str] | None = None) -> ClientResult:
    """Run an lftp script: settings for `mode`, open, then `commands`, one per line.

    With defaults=True lftp keeps its own settings (it tries AUTH TLS when the server
    offers it); otherwise TLS is off so that a TLS-capable server stays plain text, unless
    `tls_settings` gives the ssl: settings to use instead (the FTPS tests).
    """
    tls = ["set ftp:ssl-allow no"] if tls_settings is None else list(tls_settings)
    settings = [] if defaults else LFTP_COMMON_SETTINGS + tls
    if mode is not None:
        settings += LFTP_MODE_SETTINGS[mode]
    script = settings + [f"open -u {FTP_USER},{FTP_PASSWORD} -p {port} {host}"] + list(commands)
    script_path = workdir / f"lftp-{time.monotonic_ns()}.lftp"
    script_path.write_text("\n".join(script) + "\n")
    argv = ns_prefix(ns) + ["lftp", "-d", "-f", str(script_path)]
    try:
        result = subprocess.run(argv, capture_output=True, timeout=timeout)
    finally:
        script_path.unlink(missing_ok=True)
    return ClientResult(argv, result.returncode, result.stdout, result.stderr.decode("utf-8", "replace"))


# --------------------------------------------------------------------------------------
# Network namespaces


class NetnsTopology:
    """client ns -- balancer ns -- (bridge) -- server1 ns, server2 ns.

        client  10.77.1.2/24, default via 10.77.1.1
        balancer 10.77.1.1/24 and the VIP 10.77.1.10 towards clients,
                 10.77.2.1/24 on a bridge towards servers; forwards between the two
        server1 10.77.2.11/24, server2 10.77.2.12/24, default via 10.77.2.1

    Namespace names start with PREFIX and the creating pid, so a crashed run's
    leftovers can be recognised and removed by the next run; a `tag` after the pid keeps
    two topologies of one run apart (PREFIX<pid>-<tag>-c ...).
    """

    PREFIX = "ftplbit"
    CLIENT_IP = "10.77.1.2"
    GATEWAY_CLIENT_SIDE = "10.77.1.1"
    VIP = "10.77.1.10"
    BALANCER_SERVER_SIDE = "10.77.2.1"
    SERVER_IPS = ("10.77.2.11", "10.77.2.12")

    def __init__(self, tag: str | None = None) -> None:
        assert tag is None or re.fullmatch(r"[a-z0-9]+", tag), tag
        stem = f"{self.PREFIX}{os.getpid()}" + (f"-{tag}" if tag else "")
        self.client, self.balancer = f"{stem}-c", f"{stem}-b"
        self.servers = (f"{stem}-s1", f"{stem}-s2")
        self.created: list[str] = []

    @property
    def namespaces(self) -> list[str]:
        return [self.client, self.balancer, *self.servers]

    @classmethod
    def remove_stale(cls) -> list[str]:
        """Delete namespaces of earlier runs whose creating process is gone."""
        removed = []
        listing = run(["ip", "netns", "list"], timeout=10).stdout.decode()
        for line in listing.splitlines():
            name = line.split()[0] if line.split() else ""
            match = re.fullmatch(rf"{cls.PREFIX}(\d+)-[\w-]+", name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                cls._delete_namespace(name)
                removed.append(name)
        return removed

    @staticmethod
    def _delete_namespace(name: str) -> None:
        # Processes left in a namespace keep it alive; they were started by this suite.
        pids = run(["ip", "netns", "pids", name], timeout=10, check=False).stdout.decode().split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run(["ip", "netns", "del", name], timeout=10, check=False)

    def _ip(self, ns: str | None, *args: str) -> None:
        run(ns_prefix(ns) + ["ip", *args], timeout=10)

    def _sysctl(self, ns: str, setting: str) -> None:
        run(ns_prefix(ns) + ["sysctl", "-q", "-w", setting], timeout=10)

    def create(self) -> "NetnsTopology":
        for ns in (self.client, self.balancer, *self.servers):
            run(["ip", "netns", "add", ns], timeout=10)
            self.created.append(ns)
            self._ip(ns, "link", "set", "lo", "up")

        # client <-> balancer
        self._ip(None, "link", "add", "c-b", "netns", self.client, "type", "veth",
                 "peer", "name", "b-c", "netns", self.balancer)
        self._ip(self.client, "addr", "add", f"{self.CLIENT_IP}/24", "dev", "c-b")
        self._ip(self.client, "link", "set", "c-b", "up")
        self._ip(self.client, "route", "add", "default", "via", self.GATEWAY_CLIENT_SIDE)
        self._ip(self.balancer, "addr", "add", f"{self.GATEWAY_CLIENT_SIDE}/24", "dev", "b-c")
        self._ip(self.balancer, "addr", "add", f"{self.VIP}/24", "dev", "b-c")
        self._ip(self.balancer, "link", "set", "b-c", "up")

        # balancer bridge <-> servers
        self._ip(self.balancer, "link", "add", "br0", "type", "bridge")
        self._ip(self.balancer, "addr", "add", f"{self.BALANCER_SERVER_SIDE}/24", "dev", "br0")
        self._ip(self.balancer, "link", "set", "br0", "up")
        for index, (ns, address) in enumerate(zip(self.servers, self.SERVER_IPS), start=1):
            port_name = f"b-s{index}"
            self._ip(None, "link", "add", "s-b", "netns", ns, "type", "veth",
                     "peer", "name", port_name, "netns", self.balancer)
            self._ip(self.balancer, "link", "set", port_name, "master", "br0")
            self._ip(self.balancer, "link", "set", port_name, "up")
            self._ip(ns, "addr", "add", f"{address}/24", "dev", "s-b")
            self._ip(ns, "link", "set", "s-b", "up")
            self._ip(ns, "route", "add", "default", "via", self.BALANCER_SERVER_SIDE)
        self._sysctl(self.balancer, "net.ipv4.ip_forward=1")
        # No duplicate address detection delays on IPv4, but veths need a moment to be up.
        self.wait_reachable(self.client, self.GATEWAY_CLIENT_SIDE)
        for address in self.SERVER_IPS:
            self.wait_reachable(self.balancer, address)
        return self

    def wait_reachable(self, ns: str, address: str, timeout: float = 10.0) -> None:
        """Wait until `address` answers from `ns`: a TCP RST from a closed port counts
        (no ping on this machine, and the peers need not listen yet)."""
        probe = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(({address!r}, 9), timeout=1).close()\n"
            "except ConnectionRefusedError:\n"
            "    pass\n"
            "except OSError:\n"
            "    sys.exit(1)\n"
        )
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout * 5) + 1):
            if run(ns_prefix(ns) + [SYSTEM_PYTHON, "-c", probe], timeout=10, check=False).returncode == 0:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        raise TimeoutError(f"{address} not reachable from {ns}")

    def destroy(self) -> None:
        for ns in reversed(self.created):
            self._delete_namespace(ns)
        self.created.clear()

    def run_in(self, ns: str, argv: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess:
        return subprocess.run(ns_prefix(ns) + list(argv), capture_output=True, timeout=timeout)
