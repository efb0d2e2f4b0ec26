#!/usr/bin/env bash
# The whole test suite: Swift unit tests, then the integration suite with real FTP servers
# behind ftplb and real clients in front of it. Needs root (port 20, network namespaces).
# It installs what the tests need first (Debian packages; idempotent, quick when all is there).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

swift build --build-tests
swift test --skip-build

# Debian's pyftpdlib imports only under the system interpreter.
FTPLB_BIN="$(swift build --show-bin-path)/ftplb" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
