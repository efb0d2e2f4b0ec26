"""Assertions on what clients saw on the control connection."""

from __future__ import annotations

import re
from typing import Iterable

PASV_REPLY = re.compile(r"^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")
EPSV_REPLY = re.compile(r"^229 .*\(([!-~])\1\1(\d+)\1\)")


def address_forms(address: str) -> list[str]:
    """An IPv4 address as it can appear in replies: dotted, and comma-separated as in 227."""
    return [address, address.replace(".", ",")]


def lines_naming(lines: Iterable[str], addresses: Iterable[str]) -> list[str]:
    """The reply lines that contain any of `addresses` (exact, not as a prefix of another)."""
    patterns = [re.compile(rf"(?<![\d.,]){re.escape(form)}(?![\d])")
                for address in addresses for form in address_forms(address)]
    return [line for line in lines if any(p.search(line) for p in patterns)]


def lines_naming_prefix(lines: Iterable[str], prefix: str) -> list[str]:
    """Reply lines containing any address that starts with `prefix` (e.g. "127.0.20.")."""
    dotted = re.compile(rf"(?<![\d.]){re.escape(prefix)}\d")
    commas = re.compile(rf"(?<![\d,]){re.escape(prefix.replace('.', ','))}\d")
    return [line for line in lines if dotted.search(line) or commas.search(line)]


def passive_endpoints(lines: Iterable[str]) -> list[tuple[str | None, int]]:
    """(host, port) announced by each 227 reply, (None, port) for each 229 reply."""
    found = []
    for line in lines:
        if m := PASV_REPLY.match(line):
            numbers = [int(g) for g in m.groups()]
            found.append((".".join(map(str, numbers[:4])), numbers[4] * 256 + numbers[5]))
        elif m := EPSV_REPLY.match(line):
            found.append((None, int(m.group(2))))
    return found


def assert_passive_replies(lines: list[str], host: str, port_range: tuple[int, int]) -> None:
    """Every 227 names `host`; every 227/229 port lies in the passive range."""
    for announced_host, port in passive_endpoints(lines):
        if announced_host is not None:
            assert announced_host == host, f"227 names {announced_host}, expected {host}: {lines}"
        assert port_range[0] <= port <= port_range[1], \
            f"passive port {port} outside {port_range[0]}-{port_range[1]}"


def assert_no_addresses(lines: list[str], addresses: Iterable[str]) -> None:
    leaked = lines_naming(lines, addresses)
    assert not leaked, f"replies name a server address: {leaked}"


def lines_naming_ipv6_prefix(lines: Iterable[str], prefix: str) -> list[str]:
    """Reply lines containing an IPv6 address that starts with `prefix` ("fd80:2:"), in any
    letter case; an IPv4 prefix goes to lines_naming_prefix."""
    pattern = re.compile(rf"(?<![0-9a-f:]){re.escape(prefix)}", re.IGNORECASE)
    return [line for line in lines if pattern.search(line)]
