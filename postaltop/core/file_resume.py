"""Resuming a followed log file by identity, not only by offset: no line lost or repeated around rotations.

The position of a followed file is its identity (``device:inode``), the offset just after the last complete
line delivered, and the last line itself (at most :data:`CHECK_BYTES`, kept as a SHA-256 digest and a
length). When the stream starts again (a reconnect, or the follower saw the file replaced or shrunk),
:func:`plan_resume` compares that position with what the host shows now:

* the same file, at least as long, holding the same last line at the offset: continue at the offset;
* otherwise the lines after the offset are in a rotated file: ``name.1`` with the same inode (renamed by
  logrotate), or a copy (``copytruncate``, or compressed ``name.1.gz`` / ``name.2.gz``) that holds the same
  last line at the offset. The rest of that file is read first, then every newer rotation whole, then the
  current file from its start;
* when no rotated file holds the position, the current file is read from its start and the plan says that
  lines may be missing (the old file is gone, or was truncated in place).

Pure: the caller runs ``stat`` and reads the check bytes on the host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CHECK_BYTES = 4096
"""At most this many bytes of the last line are kept and compared."""

ROTATIONS = (".1", ".1.gz", ".2", ".2.gz")
"""Rotated names looked at, newest generation first (``name`` + suffix)."""


@dataclass(frozen=True, slots=True)
class FileStat:
    """What ``stat`` says about one file on the host."""

    path: str
    identity: str
    """``device:inode``."""
    size: int

    @property
    def compressed(self) -> bool:
        """A gzip rotation."""
        return self.path.endswith(".gz")


@dataclass(frozen=True, slots=True)
class ResumePlan:
    """How to continue a followed file."""

    follow_from: int
    """Offset in the current file to follow from."""
    rest_of: FileStat | None = None
    """A rotated file holding the lines after the position: read from the position to its end first."""
    rest_from: int = 0
    whole: tuple[FileStat, ...] = ()
    """Newer rotations to read whole after ``rest_of``, oldest first."""
    event: str = "resumed"
    """``resumed``, ``rotated``, ``truncated`` or ``gap`` (lines may be missing: see ``note``)."""
    note: str = ""


@dataclass(slots=True)
class FileResume:
    """Position of a followed file (see the module docstring)."""

    committed: int = 0
    """Bytes of the file up to and including the last newline received."""
    received: int = 0
    """Bytes received from the current start position (including a partial last line)."""
    identity: str | None = None
    """``device:inode`` of the file the position belongs to."""
    last_line: bytes = b""
    """The last complete line delivered (its last :data:`CHECK_BYTES` bytes, newline included)."""
    _partial: bytes = field(default=b"", repr=False)
    resumes: int = 0
    events: list[str] = field(default_factory=list)
    """What each resume found (``rotated``, ``truncated``, ``gap: …``), newest last."""

    def start_at(self, offset: int, identity: str | None = None) -> None:
        """Position the counters at ``offset`` of the file ``identity`` (a fresh start, or a new file)."""
        self.committed = offset
        self.received = offset
        self._partial = b""
        if identity is not None:
            self.identity = identity
        if offset == 0:
            self.last_line = b""

    def tail_arg(self) -> str:
        """The ``tail -c`` argument that restarts right after the last complete line."""
        return f"+{self.committed + 1}"

    @property
    def check_len(self) -> int:
        """How many bytes before :attr:`committed` identify the position (0: nothing delivered yet)."""
        return len(self.last_line)

    @property
    def digest(self) -> str:
        """SHA-256 of :attr:`last_line` (the resume state as stored and compared)."""
        return hashlib.sha256(self.last_line).hexdigest()

    def holds_position(self, check: bytes | None) -> bool:
        """Whether ``check`` (the bytes before the offset in some file) is the last line delivered."""
        return check is not None and hashlib.sha256(check).hexdigest() == self.digest

    def feed(self, chunk: bytes) -> None:
        """Account for a chunk read from the stream (before it is split into lines)."""
        nl = chunk.rfind(b"\n")
        if nl >= 0:
            self.committed = self.received + nl + 1
            prev = chunk.rfind(b"\n", 0, nl)
            line = chunk[prev + 1 : nl + 1] if prev >= 0 else self._partial + chunk[: nl + 1]
            self.last_line = line[-CHECK_BYTES:]
            self._partial = chunk[nl + 1 :][-CHECK_BYTES:]
        else:
            self._partial = (self._partial + chunk)[-CHECK_BYTES:]
        self.received += len(chunk)

    def finish_file(self) -> None:
        """The current file ended for good (a rotated file read to its end): its partial line is final."""
        self.committed = self.received
        self._partial = b""


def plan_resume(
    resume: FileResume,
    current: FileStat | None,
    rotated: Sequence[FileStat],
    checks: Mapping[str, bytes],
) -> ResumePlan:
    """Where to continue; ``rotated`` in :data:`ROTATIONS` order, ``checks`` the bytes before the offset.

    Args:
        resume: the position.
        current: the followed name as it is now (None: missing, e.g. between rename and re-create).
        rotated: the rotations that exist.
        checks: per path, the :attr:`FileResume.check_len` bytes ending at :attr:`FileResume.committed`
            (absent when not read, e.g. a compressed file not looked into yet).
    """
    pos, ident = resume.committed, resume.identity
    same = current is not None and current.identity == ident
    if (
        same
        and current is not None
        and current.size >= pos
        and (resume.check_len == 0 or resume.holds_position(checks.get(current.path)))
    ):
        return ResumePlan(follow_from=pos)
    truncated = same
    found: FileStat | None = None
    for stat in rotated:
        if stat.size < pos and not stat.compressed:
            continue
        if resume.check_len:
            if resume.holds_position(checks.get(stat.path)):
                found = stat
                break
        elif stat.identity == ident and not stat.compressed:
            found = stat
            break
    event = "truncated" if truncated else "rotated"
    if found is None:
        return ResumePlan(
            follow_from=0,
            event="gap",
            note=(
                f"{event}: the lines after offset {pos} were not found in a rotated file; "
                "lines written before the " + ("truncation" if truncated else "rotation") + " may be missing"
            ),
        )
    gen = _gen_of(found.path)
    newer: dict[int, FileStat] = {}
    for stat in rotated:
        suffix_gen = _gen_of(stat.path)
        if suffix_gen < gen and (suffix_gen not in newer or not stat.compressed):
            newer[suffix_gen] = stat
    whole = tuple(newer[g] for g in sorted(newer, reverse=True))
    return ResumePlan(follow_from=0, rest_of=found, rest_from=pos, whole=whole, event=event)


def _gen_of(path: str) -> int:
    name = path.removesuffix(".gz")
    return int(name.rsplit(".", 1)[1])
