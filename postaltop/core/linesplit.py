"""Turn arbitrary byte chunks (e.g. 256 KiB SSH reads) into complete lines.

Reading big chunks and splitting them here is ~5x faster than line-by-line async iteration
(see the design notes), and it is the one place where line length is bounded: a line longer
than :data:`MAX_LINE_BYTES` is emitted once, cut to that size with :data:`TRUNCATION_MARKER` at
its end, and the rest of it is skipped up to its newline (counted in :attr:`LineSplitter.truncated`).
"""

from __future__ import annotations

MAX_LINE_BYTES = 1 << 20
"""Longest line kept (1 MiB), marker included."""
TRUNCATION_MARKER = b" \xe2\x80\xa6[line truncated by postaltop]"
"""Appended to a line that was cut (UTF-8; the ellipsis makes it stand out)."""


def truncate_line(line: bytes) -> bytes:
    """Cut ``line`` to :data:`MAX_LINE_BYTES` with the marker at its end (unchanged if short enough)."""
    if len(line) <= MAX_LINE_BYTES:
        return line
    return line[: MAX_LINE_BYTES - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


class LineSplitter:
    """Split a byte stream into lines without ``\\n`` (a trailing ``\\r`` is removed too).

    A partial line is carried to the next chunk; :meth:`flush` returns it at end of stream.
    """

    __slots__ = ("_discarding", "_partial", "discarded_bytes", "lines", "truncated")

    def __init__(self) -> None:
        self._partial = b""
        self._discarding = False
        self.truncated = 0
        """How many lines were cut to :data:`MAX_LINE_BYTES`."""
        self.discarded_bytes = 0
        """Bytes dropped from the ends of over-long lines."""
        self.lines = 0
        """Lines emitted so far."""

    @property
    def pending(self) -> int:
        """Bytes of the partial line held for the next chunk."""
        return len(self._partial)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[bytes]:
        """Add a chunk; return the lines it completed (possibly none)."""
        data = bytes(chunk)
        if not data:
            return []
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                self.discarded_bytes += len(data)
                return []
            self.discarded_bytes += nl
            self._discarding = False
            data = data[nl + 1 :]
        if self._partial:
            data = self._partial + data
        parts = data.split(b"\n")
        tail = parts.pop()
        if b"\r" in data:
            parts = [p[:-1] if p[-1:] == b"\r" else p for p in parts]
        if parts and max(map(len, parts)) > MAX_LINE_BYTES:
            parts = [self._cut(p) if len(p) > MAX_LINE_BYTES else p for p in parts]
        if len(tail) > MAX_LINE_BYTES:
            parts.append(self._cut(tail))
            self._discarding = True
            tail = b""
        self._partial = tail
        self.lines += len(parts)
        return parts

    def _cut(self, line: bytes) -> bytes:
        self.truncated += 1
        self.discarded_bytes += len(line) - (MAX_LINE_BYTES - len(TRUNCATION_MARKER))
        return truncate_line(line)

    def flush(self) -> bytes | None:
        """End of stream: return the unterminated last line, or None if there is none."""
        tail, self._partial = self._partial, b""
        self._discarding = False
        if not tail:
            return None
        if tail[-1:] == b"\r":
            tail = tail[:-1]
        self.lines += 1
        return tail
