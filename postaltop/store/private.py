"""Files only the user may read: SQLite databases, trails and reports created 0600 in a 0700 directory."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal, TextIO

from postaltop import locations


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing (its directory 0700) and make it readable only by the user."""
    locations.ensure_dir(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    path.chmod(0o600)
    return path


def connect_private(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """Open (creating) the SQLite database ``path`` as a :func:`private_file`."""
    return sqlite3.connect(private_file(path), timeout=timeout)


def open_private_text(path: Path, mode: Literal["a", "w"]) -> TextIO:
    """Open ``path`` for appending (``a``) or replacing (``w``) UTF-8 text, creating it 0600 if missing."""
    flags = os.O_CREAT | os.O_WRONLY | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), mode, encoding="utf-8")
