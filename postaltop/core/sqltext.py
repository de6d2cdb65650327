"""Text that goes into SQL parameters (never into the statement itself: SQL is always parameterised)."""

from __future__ import annotations


def like_escape(text: str) -> str:
    """Escape ``_``, ``%`` and ``\\`` so ``text`` matches itself literally in LIKE."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
