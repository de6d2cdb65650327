"""The configuration's error type, in a module of its own so that raising or catching it imports nothing.

:mod:`postaltop.config` imports pydantic (~200 ms); the command line and the start-up check
(:mod:`postaltop.preflight`) catch and raise :class:`ConfigError` before that import, or without it.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem; :attr:`message` is for the user (may span lines, never holds a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
