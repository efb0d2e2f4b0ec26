#!/usr/bin/python3
"""A small real FTP server (pyftpdlib) for the quick start: one user, one folder."""
import argparse

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--address", required=True)
parser.add_argument("--port", type=int, default=21)
parser.add_argument("--root", required=True)
parser.add_argument("--passive-ports", required=True, help="FIRST-LAST")
parser.add_argument("--user", default="demo")
parser.add_argument("--password", default="demo")
args = parser.parse_args()

authorizer = DummyAuthorizer()
authorizer.add_user(args.user, args.password, args.root, perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = authorizer
first, last = (int(p) for p in args.passive_ports.split("-"))
handler.passive_ports = range(first, last + 1)
FTPServer((args.address, args.port), handler).serve_forever()
