#!/usr/bin/python3
"""The router's side of test_ecmp.py, run in the router namespace: polls each node's /healthz
every 100 ms and keeps the VIP's resilient nexthop group to the nodes that answer 200, as BFD
or a BGP withdraw would. Prints one JSON line per change: {"time", "members", "node", "healthy"}
(monotonic clock), and runs until stdin closes.

    ha_health_router.py --group 10 --buckets 64 --idle-timer 120 --node 1=http://10.79.11.2:9021/healthz ...
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def set_group(args, members: list[int]) -> None:
    # A resilient group moves only the buckets of a member that left; a member that joins takes
    # buckets as they go idle (idle_timer), so flows in progress stay where they are.
    subprocess.run(["ip", "nexthop", "replace", "id", str(args.group), "group", "/".join(map(str, members)),
                    "type", "resilient", "buckets", str(args.buckets), "idle_timer", str(args.idle_timer)],
                   check=True, capture_output=True, timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", type=int, required=True)
    parser.add_argument("--buckets", type=int, required=True)
    parser.add_argument("--idle-timer", type=int, required=True)
    parser.add_argument("--node", action="append", required=True, help="NEXTHOP_ID=HEALTHZ_URL")
    args = parser.parse_args()
    nodes = {int(key): url for key, url in (item.split("=", 1) for item in args.node)}
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    state = {node: True for node in nodes}  # the group starts with every node in it
    for _ in range(10_000_000):
        if stop.is_set():
            return
        for node, url in nodes.items():
            now = healthy(url)
            if now == state[node]:
                continue
            members = [n for n in nodes if (now if n == node else state[n])]
            if not members:
                continue  # an empty group would drop the VIP's route: keep the last node
            set_group(args, members)
            state[node] = now
            print(json.dumps({"time": time.monotonic(), "members": members, "node": node, "healthy": now}),
                  flush=True)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
