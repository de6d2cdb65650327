"""Postal's ANSI colour codes, shared by the log parser and the display sanitiser.

A module of its own: :mod:`postaltop.core.sanitize` runs on the first frame (host names, error messages), and
importing the parser package for one pattern would load every parsing module before it.
"""

from __future__ import annotations

import re

SGR = re.compile(r"\x1b\[[0-9;]*m")
"""A complete ANSI colour (SGR) sequence, which Postal writes around SMTP traffic."""
SGR_BYTES = re.compile(rb"\x1b\[[0-9;]*m")
"""Bytes twin of :data:`SGR`."""
