"""A headless Chromium driven over the DevTools protocol, for tests that must check what a page
shows in a real browser rather than what a server sends.

Chromium runs in its own process group with a throwaway profile; `close()` (call it in a
finally, or use `with`) kills the whole group, renderers included. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

import websocket  # Debian's python3-websocket

BINARIES = ("chromium-headless-shell", "chromium")


def chromium_binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"none of {BINARIES} is installed: run scripts/install-test-deps.sh")


class Browser:
    def __init__(self, workdir: Path, name: str, timeout: float = 20.0):
        self.profile = Path(tempfile.mkdtemp(prefix=f"{name}-profile-", dir=workdir))
        self.log_path = workdir / f"{name}.log"
        self.timeout = timeout
        self.events: list[dict] = []
        self.next_id = 0
        # Called with each event as it arrives, to answer the ones that pause the browser.
        self.on_event: Callable[[dict], None] | None = None
        argv = [
            chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}", "about:blank",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            start_new_session=True)
        self.socket = None
        try:
            self.socket = websocket.create_connection(self._page_socket_url(), timeout=timeout,
                                                      suppress_origin=True)
        except BaseException:
            self.close()
            raise

    def _page_socket_url(self) -> str:
        """The DevTools address of the first page, once Chromium has written its port."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        for _ in range(int(self.timeout / 0.05) + 2):
            if self.process.poll() is not None:
                raise AssertionError(f"chromium exited ({self.process.returncode}): {self.log_tail()}")
            if port_file.exists() and port_file.read_text().strip():
                port = int(port_file.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise AssertionError(f"chromium did not open its DevTools port in {self.timeout}s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _receive(self, deadline: float) -> dict:
        self.socket.settimeout(max(0.05, deadline - time.monotonic()))
        message = json.loads(self.socket.recv())
        if "method" in message:
            self.events.append(message)
            if self.on_event:
                self.on_event(message)
        return message

    def send(self, method: str, **params) -> int:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def call(self, method: str, **params) -> dict:
        """Sends one command and returns its result; events that arrive meanwhile are kept."""
        wanted = self.send(method, **params)
        deadline = time.monotonic() + self.timeout
        for _ in range(10_000):
            if time.monotonic() > deadline:
                break
            message = self._receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise AssertionError(f"{method}: no answer within {self.timeout}s")

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        self.call("Page.enable")
        answer = self.call("Page.navigate", url=url)
        assert "errorText" not in answer, f"navigating to {url}: {answer['errorText']}"

    def wait_for(self, expression: str, timeout: float, what: str):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value = None
        for _ in range(int(timeout / 0.1) + 2):
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise AssertionError(f"not within {timeout}s: {what}; last value {value!r}")

    def close(self) -> None:
        if self.socket is not None:
            try:
                self.socket.close()
            except OSError:
                pass
            self.socket = None
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
            except ProcessLookupError:
                pass
        # Renderers left in the group after the browser itself ended.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
