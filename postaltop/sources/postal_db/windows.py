"""A server's id windows: where the poll stands, and what one cycle read before it becomes a sample."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from postaltop.core.connect_state import HELD_REASONS


@dataclass(slots=True)
class Cursor:
    """Where a server's id windows stand."""

    message_id: int
    delivery_id: int
    db_now: float


@dataclass(slots=True)
class Raw:
    """What was read for one server in one cycle, before it becomes a sample."""

    db_now: float
    max_msg: int
    max_del: int
    held: int
    out60: int
    in60: int
    from_msg: int
    from_del: int
    min_ts: float
    seconds: float
    msg_rows: list[tuple[Any, ...]] = field(default_factory=list)
    """``(scope, credential_id, rcpt_domain, count)`` of rows stamped up to the database clock."""
    del_rows: list[tuple[Any, ...]] = field(default_factory=list)
    """``(status, spam, held_reason, held_credential_id, count)`` likewise."""
    future: int = 0
    """Rows of the window stamped after the database clock (+ tolerance): counted, not used."""

    def take_messages(self, rows: Sequence[Sequence[Any]]) -> None:
        """Keep ``(scope, credential_id, domain, future, count)`` rows; count the future ones."""
        for scope, cred, domain, future, count in rows:
            if future:
                self.future += int(count)
            else:
                self.msg_rows.append((scope, cred, domain, count))

    def take_deliveries(self, rows: Sequence[Sequence[Any]]) -> None:
        """Keep ``(status, spam, reason, held_credential_id, future, count)`` rows; count the future ones."""
        for status, spam, reason, cred, future, count in rows:
            if future:
                self.future += int(count)
            else:
                self.del_rows.append((status, spam, reason, cred, count))


FUTURE_TOLERANCE = 60.0
"""Seconds a row may be stamped after the database clock (Postal stamps rows with its own host's clock)
before it counts as "from the future": ignored, and counted in :attr:`PollResult.future_rows`."""


HELD_PATTERNS = [pattern for _, pattern in HELD_REASONS]
"""The held-reason LIKE patterns, in the order :data:`db_queries.HELD_CASE` expects them."""


MERGED_BUDGET = 0.5
"""Share of ``query_timeout`` the merged statements may take before their servers are read one by one."""
