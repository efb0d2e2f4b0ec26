"""What crosses loopback in clear: tcpdump writes a session's packets to a file, and the
test looks for byte strings (USER, PASS, RETR, the bytes of a file) in it.

The search is over the raw capture file, packet headers and all: a needle shorter than a
TCP segment that was sent in one write lies whole in one packet, so it is found if it was
sent in clear; an encrypted session never shows it. Tests keep needles short and unique
(a command line, a marker file's contents) so that a split across segments cannot hide one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping


class Capture:
    """tcpdump -i lo -U -w FILE EXPRESSION in the background; stop() (in a finally, or use
    it as a context manager) ends it and leaves the file complete."""

    def __init__(self, path: Path, expression: str, timeout: float = 10.0):
        self.path = path
        self.expression = expression
        self.log = path.with_suffix(".tcpdump.log")
        # --immediate-mode and -U: each packet handed over and written as it arrives, so
        # none waits in the kernel's ring or in a buffer when stop() ends tcpdump.
        # -Z root: write the file as root, like the rest of the run's files.
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["tcpdump", "-i", "lo", "-n", "--immediate-mode", "-U", "-Z", "root", "-s", "0",
                 "-w", str(path), expression],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if "listening on" in self.log_text() or self.proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if self.proc.poll() is not None or "listening on" not in self.log_text():
            self.stop()
            raise RuntimeError(f"tcpdump did not start listening: {self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, settle: float = 0.3, timeout: float = 5.0) -> None:
        """Once the file has stopped growing for `settle` seconds (the last packets of a
        session just ended are written), SIGINT; SIGKILL if tcpdump does not end in time."""
        deadline = time.monotonic() + timeout
        size = -1
        for _ in range(int(timeout / settle) + 1):
            current = self.path.stat().st_size if self.path.exists() else 0
            if current == size or time.monotonic() > deadline or self.proc.poll() is not None:
                break
            size = current
            time.sleep(settle)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def packet_count(self) -> int:
        """How many packets the file holds (tcpdump -r), to tell an empty capture apart."""
        result = subprocess.run(["tcpdump", "-r", str(self.path), "-n", "-q"], capture_output=True,
                                text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"tcpdump -r {self.path}: {result.stderr}")
        return len(result.stdout.splitlines())

    def found_in_clear(self, needles: Mapping[str, bytes]) -> list[str]:
        """The names of the needles whose bytes appear in the capture file."""
        data = self.path.read_bytes()
        return [name for name, needle in needles.items() if needle in data]


def server_expression(host: str, control_port: int, passive_ports: tuple[int, int]) -> str:
    """A filter for everything of one server: its control port, its passive range and
    port 20 (active data connections come from there)."""
    return (f"host {host} and (port {control_port} or port 20 or "
            f"portrange {passive_ports[0]}-{passive_ports[1]})")
