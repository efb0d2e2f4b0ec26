"""What crosses loopback in clear: tcpdump writes a session's packets to a file, and the
test looks for byte strings (USER, PASS, RETR, the bytes of a file) in it.

The search is over the raw capture file, packet headers and all: a needle shorter than a
TCP segment that was sent in one write lies whole in one packet, so it is found if it was
sent in clear; an encrypted session never shows it. Tests keep needles short and unique
(a command line, a marker file's contents) so that a split across segments cannot hide one.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Mapping


class Capture:
    """tcpdump -i lo -U -w FILE EXPRESSION in the background; stop() (in a finally, or use
    it as a context manager) ends it and leaves the file complete. The server's control
    address is a good marker_address: every filter of a session includes it."""

    def __init__(self, path: Path, expression: str, marker_address: tuple[str, int], timeout: float = 10.0):
        self.path = path
        self.expression = expression
        self.marker_address = marker_address  # inside `expression`, for flush()
        self.log = path.with_suffix(".tcpdump.log")
        # --immediate-mode and -U: each packet handed over and written as it arrives.
        # The kernel's ring holds buffer/snaplen packets (the defaults, 2 MiB and 256 KiB,
        # make 8, and a busy machine dropped some): 70000 bytes hold a whole loopback
        # packet, 32 MiB about 480 of them. -Z root: write the file as root.
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-n", "--immediate-mode", "-U", "-Z", "root", "-s", "70000",
                 "-B", "32768", "-w", str(path), expression],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if "listening on" in self.log_text() or self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if self.proc.poll() is not None or "listening on" not in self.log_text():
            self._end(5.0)
            raise RuntimeError(f"tcpdump did not start listening: {self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush, then SIGINT (tcpdump then closes the file); SIGKILL if it does not end."""
        try:
            if self.proc.poll() is None:
                self.flush(timeout)
        finally:
            self._end(timeout)

    def _end(self, timeout: float) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def flush(self, timeout: float) -> None:
        """Wait until everything sent so far is in the file: a UDP datagram to the marker
        address (inside the filter; nothing listens, the kernel drops it) goes through the
        same queue after the session's packets, so once the file holds it, it holds them.
        A SIGINT alone would lose what tcpdump had not read yet."""
        marker = f"ftplb-capture-end-{os.urandom(8).hex()}".encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(marker, self.marker_address)
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if self.path.exists() and marker in self.path.read_bytes():
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"tcpdump wrote no marker to {self.path} within {timeout}s: {self.log_text()}")

    def packet_count(self) -> int:
        """How many packets the file holds (tcpdump -r), to tell an empty capture apart."""
        result = subprocess.run(["tcpdump", "-r", str(self.path), "-n", "-q"], capture_output=True,
                                text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"tcpdump -r {self.path}: {result.stderr}")
        return len(result.stdout.splitlines())

    def dropped(self) -> int:
        """Packets the kernel dropped (tcpdump's count, written when it stops)."""
        match = re.search(r"(\d+) packets? dropped by kernel", self.log_text())
        if self.proc.poll() is None or match is None:
            raise RuntimeError(f"tcpdump has not stopped and counted yet: {self.log_text()}")
        return int(match.group(1))

    def found_in_clear(self, needles: Mapping[str, bytes]) -> list[str]:
        """The names of the needles whose bytes appear in the capture file, which must hold
        every packet (a dropped one could have held a needle)."""
        assert self.dropped() == 0, f"the capture is incomplete: {self.log_text()}"
        data = self.path.read_bytes()
        return [name for name, needle in needles.items() if needle in data]


def server_expression(host: str, control_port: int, passive_ports: tuple[int, int]) -> str:
    """A filter for everything of one server: its control port, its passive range and
    port 20 (active data connections come from there)."""
    return (f"host {host} and (port {control_port} or port 20 or "
            f"portrange {passive_ports[0]}-{passive_ports[1]})")
