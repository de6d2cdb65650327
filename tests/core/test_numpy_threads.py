"""numpy is imported without linear-algebra thread pools (postaltop multiplies no matrices)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import os; from postaltop.core import bytescan; bytescan.numpy(); "
    "print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])"
)


def probe(**env: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
        timeout=60,
    )
    threads, value = out.stdout.split()
    return int(threads), value


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads are counted in /proc")
def test_numpy_starts_no_thread_pool_unless_the_environment_asks() -> None:
    assert probe() == (1, "1")
    # an operator's own setting is kept (numpy's OpenBLAS then starts that many threads, the first being ours)
    threads, value = probe(OPENBLAS_NUM_THREADS="2")
    assert value == "2" and threads == 2
