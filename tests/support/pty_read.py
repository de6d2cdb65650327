"""Reading a child's terminal (the master side of a pty) until it shows something, with a deadline."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable


def read_until(master: int, shown: Callable[[bytes], bool], seconds: float, what: str) -> bytes:
    """Read ``master`` until ``shown(output)``; fails naming ``what`` at ``seconds`` or when the child ends.

    Returns the output read (its last 200,000 bytes).
    """
    seen = b""
    deadline = time.monotonic() + seconds
    while not shown(seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the child never showed {what}; output: {seen[-400:]!r}"
        readable, _, _ = select.select([master], [], [], remaining)
        if readable:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            assert chunk, f"the child ended before showing {what}; output: {seen[-400:]!r}"
            seen = (seen + chunk)[-200_000:]
    return seen
