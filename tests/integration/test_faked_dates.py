"""The date-dependent tests under a faked date: ftplb, vsftpd, the clients and pytest itself
run under libfaketime, once on a one-digit day (the xferlog date pads it with a space:
`Sat Dec  5`) and once on a two-digit day, so that the suite passes on every day of a month.

Each run is a pytest of its own on the transfer-log module, so that every process it starts
(ftplb, vsftpd, curl) inherits the faked clock. The clock keeps ticking from the faked start,
and the monotonic clock is faked with it (NIO's timers and Python's sleep stay consistent).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.balancer_only

HERE = Path(__file__).resolve().parent
# Modules whose assertions read the wall clock.
DATE_DEPENDENT = ["test_transfer_log.py"]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("start", ["2026-12-05 10:00:00", "2027-02-25 23:59:30"])
def test_date_dependent_tests_pass_on_a_faked_date(start):
    faketime = shutil.which("faketime")
    assert faketime, "faketime is missing: scripts/install-test-deps.sh installs it"
    # -m: the multi-threaded libfaketime; a Swift binary's threads hang under the other one.
    argv = [faketime, "-m", start, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *DATE_DEPENDENT]
    run = subprocess.run(argv, cwd=HERE, env=dict(os.environ), capture_output=True, text=True,
                         timeout=360, stdin=subprocess.DEVNULL)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"under a faked date of {start}:\n{output[-6000:]}"
    assert " passed" in output and " failed" not in output, output[-2000:]
