"""Files only the user may read: every file postaltop writes is 0600, in directories it creates 0700.

Modes are set explicitly (``fchmod`` / ``chmod``), so neither the umask nor the mode of a file that already
existed (an export or recording written over an old 0644 file) leaves anything readable by others. Existing
directories the user chose (``--output /srv/reports/x.html``) are not changed; directories postaltop
creates, and its own state directories, are 0700.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal, TextIO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, *, own: bool = False) -> Path:
    """Create ``path`` and its missing parents 0700; ``own``: a postaltop state directory, made 0700 even
    if it existed."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)
        directory.chmod(DIR_MODE)
    if own and path.is_dir() and (path.stat().st_mode & 0o777) != DIR_MODE:
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing (its directory 0700) and make it readable only by the user."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def connect_private(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    """Open (creating) the SQLite database ``path`` as a :func:`private_file`."""
    return sqlite3.connect(private_file(path), timeout=timeout)


def _open_fd(path: Path, mode: str) -> int:
    private_dir(path.parent)
    flags = os.O_CREAT | os.O_WRONLY | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through open(): set it
    return fd


def open_private_text(path: Path, mode: Literal["a", "w"], *, newline: str | None = None) -> TextIO:
    """Open ``path`` for appending (``a``) or replacing (``w``) UTF-8 text, 0600 whatever existed."""
    return os.fdopen(_open_fd(path, mode), mode, encoding="utf-8", newline=newline)


def open_private_binary(path: Path, mode: Literal["ab", "wb"]) -> BinaryIO:
    """Open ``path`` for appending or replacing bytes, 0600 whatever existed."""
    return os.fdopen(_open_fd(path, mode), mode)


def write_private_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (0600)."""
    with open_private_text(path, "w") as out:
        out.write(text)


@contextlib.contextmanager
def replace_private(path: Path) -> Iterator[BinaryIO]:
    """Write a new ``path`` atomically: a 0600 temporary file beside it, renamed over it on success."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
