#!/usr/bin/python3
"""FTP clients for the high-availability tests, run inside a client namespace with
`ip netns exec`. Each command prints JSON on stdout:

    session --host H --mode M [--source S]      one session: {"ok", "server_id", "error"}
    batch --host H --jobs JSON [--workers N]    sessions in parallel, [{"source", "mode", ...}]
    probe --host H [--parallel N]               sessions one after another on N threads, a line each:
                                                {"start", "end", "ok", "server_id"} (monotonic
                                                clock, the same in every namespace), until stdin closes
    hold --host H --sources A,B,...             a logged-in session per source address, kept open;
                                                stdin lines "check MODE" answer one line
                                                {source: "ok SERVER" or "error: ..."}; "quit" ends

A session logs in, retrieves server-id.txt (the server's name) over a data connection in the
asked mode, and quits.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ftpenv  # noqa: E402


def server_id(ftp: ftpenv.FTPClient) -> str:
    chunks: list[bytes] = []
    ftp.retrbinary("RETR server-id.txt", chunks.append)
    return b"".join(chunks).decode().strip()


def one_session(host: str, mode: str, source: str | None, timeout: float) -> dict:
    result = {"source": source, "mode": mode, "ok": False, "server_id": None, "error": None}
    ftp = None
    try:
        ftp = ftpenv.open_ftp(host, 21, mode, timeout=timeout, source=source)
        result["server_id"] = server_id(ftp)
        ftp.quit()
        result["ok"] = True
    except Exception as error:  # noqa: BLE001 - every failure is a result here
        result["error"] = f"{type(error).__name__}: {error}"
        if ftp is not None:
            ftp.close()
    return result


def batch(args) -> None:
    jobs = json.loads(args.jobs)
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(lambda job: one_session(args.host, job["mode"], job.get("source"), args.timeout),
                                jobs))
    json.dump(results, sys.stdout)


def probe(args) -> None:
    """Several sessions at a time, each thread starting its next as soon as its last ended, so
    that one attempt hanging on a dead node does not hide when the service came back."""
    stop = threading.Event()
    output = threading.Lock()

    def loop(offset: float) -> None:
        time.sleep(offset)
        for _ in range(100_000):
            if stop.is_set():
                return
            start = time.monotonic()
            result = one_session(args.host, args.mode, args.source, args.timeout)
            line = json.dumps({"start": start, "end": time.monotonic(), "ok": result["ok"],
                               "server_id": result["server_id"], "error": result["error"]})
            with output:
                print(line, flush=True)
            if not result["ok"]:
                time.sleep(args.interval)

    threads = [threading.Thread(target=loop, args=(index * 0.02,), daemon=True) for index in range(args.parallel)]
    for thread in threads:
        thread.start()
    sys.stdin.read()
    stop.set()
    for thread in threads:
        thread.join(timeout=args.timeout + 5)


def hold(args) -> None:
    sessions: dict[str, ftpenv.FTPClient | None] = {}
    for source in args.sources.split(","):
        try:
            sessions[source] = ftpenv.open_ftp(args.host, 21, "pasv", timeout=args.timeout, source=source)
        except Exception as error:  # noqa: BLE001
            print(json.dumps({"error": f"{source}: {error}"}), flush=True)
            return
    print(json.dumps({"held": len(sessions)}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        answers = {}

        def check(source: str) -> None:
            ftp = sessions[source]
            if ftp is None:
                answers[source] = "error: ended earlier"
                return
            ftp.mode = words[1]
            try:
                answers[source] = f"ok {server_id(ftp)}"
            except Exception as error:  # noqa: BLE001
                answers[source] = f"error: {type(error).__name__}: {error}"
                ftp.close()
                sessions[source] = None

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(check, list(sessions)))
        print(json.dumps(answers), flush=True)
    for ftp in sessions.values():
        if ftp is not None:
            try:
                ftp.quit()
            except Exception:  # noqa: BLE001
                ftp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("session", "batch", "probe", "hold"):
        command = commands.add_parser(name)
        command.add_argument("--host", required=True)
        command.add_argument("--timeout", type=float, default=10.0)
        if name in ("session", "probe"):
            command.add_argument("--mode", choices=ftpenv.MODES, default="pasv")
            command.add_argument("--source")
        if name == "batch":
            command.add_argument("--jobs", required=True)
            command.add_argument("--workers", type=int, default=8)
        if name == "probe":
            command.add_argument("--interval", type=float, default=0.05)
            command.add_argument("--parallel", type=int, default=4)
        if name == "hold":
            command.add_argument("--sources", required=True)
    args = parser.parse_args()
    if args.command == "session":
        json.dump(one_session(args.host, args.mode, args.source, args.timeout), sys.stdout)
    else:
        {"batch": batch, "probe": probe, "hold": hold}[args.command](args)


if __name__ == "__main__":
    main()
