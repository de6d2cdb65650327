"""Where the reading of a review's window is: a line on stderr, or a sink (the review's screen)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postaltop.core.review.window import Window

ProgressSink = Callable[[float, str], None]
"""Receives the share done (0-1) and a line saying where the work is (the review's loading screen)."""


class Progress:
    """Where a long preparation is, on stderr (rewritten in place on a terminal, every 25 % otherwise) or,
    given a ``sink``, handed to it at most every ``interval`` seconds and at the end."""

    def __init__(
        self, window: Window, what: str, *, interval: float = 0.5, sink: ProgressSink | None = None
    ) -> None:
        self.window = window
        self.what = what
        self.interval = interval
        self.sink = sink
        self.tty = sys.stderr.isatty()
        self._shown_at = float("-inf")
        self._quarter = -1

    def at(self, pos: float) -> None:
        """Report that the work reached time ``pos`` of the window."""
        span = max(1.0, self.window.end - self.window.start)
        share = min(1.0, max(0.0, (pos - self.window.start) / span))
        stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(pos))
        self.report(share, f"{self.what}: {stamp} UTC ({share * 100:.0f}%)")

    def report(self, share: float, text: str) -> None:
        """Report ``share`` (0-1) of the work done, said by ``text``."""
        if self.sink is not None:
            now = time.monotonic()
            if now - self._shown_at >= self.interval or share >= 1.0:
                self._shown_at = now
                self.sink(share, text)
        elif self.tty:
            now = time.monotonic()
            if now - self._shown_at >= self.interval:
                self._shown_at = now
                print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)
        elif int(share * 4) > self._quarter:
            self._quarter = int(share * 4)
            print(text, file=sys.stderr, flush=True)

    def done(self) -> None:
        """The work is finished: end the progress line."""
        if self.sink is None and self.tty and self._shown_at > float("-inf"):
            print(f"\r{self.what}: done\x1b[K", file=sys.stderr, flush=True)
