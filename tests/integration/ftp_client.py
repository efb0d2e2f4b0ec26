#!/usr/bin/python3
"""One ftplib session as a command, for clients that must run elsewhere (inside a
network namespace via `ip netns exec`). Prints a JSON report on stdout:

    {"server_id": ..., "retrieved_sha256": ..., "listing": [...],
     "data_peers": [[host, port], ...], "replies": [...], "data_tls": [[version, resumed], ...]}

With --tls-ca the session is FTPS (AUTH TLS, PROT P, the data connections resuming the
control connection's session), the balancer's certificate checked against that CA.

data_peers are the peers of the data connections: for PORT/EPRT the address and port
the data connection came from, which is what the namespace test checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ftpenv  # noqa: E402
import tlsclients  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, default=21)
    parser.add_argument("--mode", choices=ftpenv.MODES, required=True)
    parser.add_argument("--retrieve", help="remote file to RETR and hash")
    parser.add_argument("--store", nargs=2, metavar=("LOCAL", "REMOTE"))
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--tls-ca", help="FTPS, trusting this CA file")
    args = parser.parse_args()

    if args.tls_ca:
        ftp = tlsclients.FTPSClient(tlsclients.client_context(Path(args.tls_ca)), mode=args.mode,
                                    server_hostname="ftps.test", timeout=args.timeout)
        ftp.connect(args.host, args.port)
        ftp.login(ftpenv.FTP_USER, ftpenv.FTP_PASSWORD)
        ftp.prot_p()
    else:
        ftp = ftpenv.open_ftp(args.host, args.port, args.mode, timeout=args.timeout)
    report: dict = {}
    ident: list[bytes] = []
    ftp.retrbinary("RETR server-id.txt", ident.append)
    report["server_id"] = b"".join(ident).decode().strip()
    listing: list[str] = []
    ftp.retrlines("LIST", listing.append)
    report["listing"] = listing
    if args.retrieve:
        digest = hashlib.sha256()
        ftp.retrbinary(f"RETR {args.retrieve}", digest.update, blocksize=256 * 1024)
        report["retrieved_sha256"] = digest.hexdigest()
    if args.store:
        ftpenv.ftplib_store(ftp, Path(args.store[0]), args.store[1])
    ftp.quit()
    report["data_peers"] = ftp.data_peers
    report["replies"] = ftp.received
    report["data_tls"] = [[d.version, d.session_reused] for d in getattr(ftp, "data_tls", [])]
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
