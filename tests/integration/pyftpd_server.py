#!/usr/bin/python3
"""A pyftpdlib FTP server for the integration tests.

Run it with /usr/bin/python3: Debian's python3-pyftpdlib is only importable there.
It serves one user from one root directory and logs to stderr. With --tls-cert it is an
explicit FTPS server (TLS_FTPHandler, pyOpenSSL: AUTH TLS, PBSZ, PROT), plain FTP still
allowed unless --tls-required.
"""

import argparse
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer, ThreadedFTPServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--passive-ports", required=True, help="FIRST-LAST")
    parser.add_argument("--masquerade", help="address to announce in 227 replies")
    parser.add_argument("--single-thread", action="store_true",
                        help="serve every session from one thread (for many idle sessions)")
    parser.add_argument("--max-sessions", type=int, default=1024)
    parser.add_argument("--refuse", action="append", default=[], metavar="VERB",
                        help="answer VERB with 500 (not understood), as a server without it does")
    parser.add_argument("--tls-cert", help="PEM certificate (chain): offer AUTH TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument("--tls-required", action="store_true",
                        help="refuse USER before AUTH TLS and data connections before PROT P")
    parser.add_argument("--ignore", action="append", default=[], metavar="VERB",
                        help="never answer VERB, as a hung server does (the session stays open)")
    args = parser.parse_args()

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s {args.name} %(levelname)s %(message)s",
    )

    authorizer = DummyAuthorizer()
    authorizer.add_user(args.user, args.password, args.root, perm="elradfmwMT")

    first, last = (int(p) for p in args.passive_ports.split("-"))

    if args.tls_cert:
        # Only defined where pyOpenSSL imports (python3-openssl): plain servers need none.
        from pyftpdlib.handlers import TLS_FTPHandler as base
    else:
        base = FTPHandler

    class Handler(base):
        pass

    Handler.proto_cmds = {verb: spec for verb, spec in base.proto_cmds.items() if verb not in args.refuse}
    if args.tls_cert:
        Handler.certfile = args.tls_cert
        Handler.keyfile = args.tls_key
        Handler.tls_control_required = args.tls_required
        Handler.tls_data_required = args.tls_required
    for verb in args.ignore:
        setattr(Handler, f"ftp_{verb}", lambda self, line: None)
    Handler.authorizer = authorizer
    Handler.passive_ports = range(first, last + 1)
    Handler.banner = f"pyftpdlib {args.name} ready."
    if args.masquerade:
        Handler.masquerade_address = args.masquerade
    # The default 'replace' turns non-UTF-8 file names into U+FFFD; surrogateescape
    # keeps the client's bytes on disk and in listings, which is what a test of
    # byte-exact file names needs.
    Handler.unicode_errors = "surrogateescape"

    # One thread per session: the single-threaded FTPServer stalls every session for
    # seconds when several sessions use active mode at once (seen with 8 concurrent
    # PORT sessions), which would look like balancer hangs.
    server_class = FTPServer if args.single_thread else ThreadedFTPServer
    server = server_class((args.host, args.port), Handler)
    server.max_cons = args.max_sessions
    server.max_cons_per_ip = 0
    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
