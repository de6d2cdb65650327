"""The remote shell commands that follow, check and read a log file, and search any log since a time."""

from __future__ import annotations

import re
import shlex

from postaltop.core.file_resume import ROTATIONS, FileResume, FileStat
from postaltop.sources.logs.discovery import StreamSpec

ROTATED_EXIT = 75
"""Exit status of :func:`follow_command` when the name now points to another file (rotated)."""


TRUNCATED_EXIT = 76
"""Exit status of :func:`follow_command` when the file became shorter than what was read (truncated)."""


FOLLOW_POLL = 0.2
"""Seconds :func:`follow_command` sleeps when it has read everything and the file did not grow."""

FOLLOW_PAUSE = 0.5
"""Seconds :func:`follow_command` sleeps after a read shorter than :data:`FOLLOW_CHUNK`: a look that reads
forks about fifteen short processes (``stat``, ``dd``, the marks), so while the file grows steadily the loop
reads twice a second, and lines reach the screen at most this much later."""

FOLLOW_CHUNK = 262144
"""Bytes from which a read is taken as a backlog, read on at once without sleeping."""


_SINCE = re.compile(r"^(\d+)([smhd])$")


def since_seconds(since: str) -> int:
    """``"10m"`` → 600 (the config validates the form; anything else means 10 minutes)."""
    match = _SINCE.match(since)
    if match is None:
        return 600
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def follow_command(path: str, position: FileResume) -> str:
    """Follow ``path`` from the position, as long as the name points to the same file and it does not shrink.

    The file is opened once (descriptor 3) and checked against the position's identity; new bytes are copied
    with ``dd`` from the descriptor, so a rename never makes it read another file at the old offset. When
    everything is read and the name points elsewhere it exits :data:`ROTATED_EXIT`; when the file is
    shorter than what was read, :data:`TRUNCATED_EXIT`: the caller then reads the rest of the old file and
    continues with the new one.
    """
    q = shlex.quote(path)
    ident = shlex.quote(position.identity or "")
    # mark: a checksum of the 64 bytes before an offset, read through a second descriptor of the same file;
    # when the file grew but these bytes changed, it was truncated and rewritten between two looks.
    mark = (
        'm() { o=$1; n=64; [ "$o" -lt 64 ] && n=$o; '
        "dd if=/dev/fd/3 bs=64 iflag=skip_bytes,count_bytes skip=$((o - n)) count=$n 2>/dev/null | cksum; }; "
    )
    return (
        f"f={q}; id={ident}; off={position.committed}; sk=$off; h=; {mark}"
        f'exec 3<"$f" || exit {ROTATED_EXIT}; '
        f'[ "$(stat -L -c %d:%i /dev/fd/3)" = "$id" ] || exit {ROTATED_EXIT}; '
        '[ "$off" -gt 0 ] && h=$(m "$off"); '
        "while :; do "
        "sz=$(stat -L -c %s /dev/fd/3) || exit 1; "
        f'if [ "$sz" -lt "$off" ]; then exit {TRUNCATED_EXIT}; fi; '
        'if [ "$sz" -gt "$off" ]; then '
        f'if [ -n "$h" ] && [ "$(m "$off")" != "$h" ]; then exit {TRUNCATED_EXIT}; fi; '
        'h1=$(m "$sz"); '
        f'dd bs={FOLLOW_CHUNK} iflag=skip_bytes,count_bytes skip="$sk" count=$((sz - off)) <&3 2>/dev/null '
        "|| exit 1; "
        # the new mark is taken before the old one is checked again: a truncation at any time during the
        # read (or before the new mark) fails one of the checks instead of becoming the next mark
        'h2=$(m "$sz"); [ "$h1" = "$h2" ] || exit ' + str(TRUNCATED_EXIT) + "; "
        f'if [ -n "$h" ] && [ "$(m "$off")" != "$h" ]; then exit {TRUNCATED_EXIT}; fi; '
        # a read shorter than a full chunk means the reader caught up: wait before looking again (without it
        # the loop forks a dozen processes per look, back to back, and took a whole core of the host)
        f"[ $((sz - off)) -ge {FOLLOW_CHUNK} ] || sleep {FOLLOW_PAUSE}; "
        "off=$sz; sk=0; h=$h2; continue; fi; "
        f'[ "$(stat -L -c %d:%i -- "$f" 2>/dev/null)" = "$id" ] || exit {ROTATED_EXIT}; '
        # the SSH session that started the loop is gone (connection dropped): a quiet file would otherwise
        # keep it looking forever, as nothing is written to the closed channel to stop it. The loop's own
        # parent is read from /proc with the builtin `read` (no fork): reparented means the session ended.
        # (Whether the old parent's /proc entry exists could be fooled by a reused pid; `kill -0` fails for
        # a live parent owned by another user.)
        "[ ! -r /proc/$$/stat ] || { read -r s1 s2 s3 pp s5 < /proc/$$/stat; "
        '[ "$pp" = "$PPID" ] || exit 1; }; '
        f"sleep {FOLLOW_POLL}; "
        "done"
    )


def file_state_script(path: str, position: FileResume, *, compressed: bool) -> str:
    """``stat`` of ``path`` and its rotations (``stat|<suffix>|dev:ino size``), and the check bytes before the
    position in each (``chk|<suffix>|<hex>``; compressed rotations only when ``compressed``)."""
    size = position.check_len
    start = position.committed - size + 1
    lines = [f"f={shlex.quote(path)}"]
    for suffix in ("", *ROTATIONS):
        gz = suffix.endswith(".gz")
        if compressed and not gz:
            continue
        g = f'"$f"{shlex.quote(suffix)}' if suffix else '"$f"'
        stat = f"s=$(stat -L -c '%d:%i %s' -- {g} 2>/dev/null) && echo \"stat|{suffix}|$s\""
        if size <= 0 or start < 1 or gz != compressed:
            lines.append(stat)
            continue
        reader = (
            f"gzip -dc -- {g} 2>/dev/null | tail -c +{start}"
            if gz
            else f"tail -c +{start} -- {g} 2>/dev/null"
        )
        lines.append(
            f"{stat} && {{ printf 'chk|{suffix}|'; {reader} | head -c {size} "
            "| od -An -v -tx1 | tr -d ' \\n'; echo; }"
        )
    return "; ".join(lines) + "; true"


def read_command(stat: FileStat, offset: int) -> str:
    """Print ``stat.path`` from ``offset`` to its end (decompressing a gzip rotation)."""
    q = shlex.quote(stat.path)
    if stat.compressed:
        return f"gzip -dc -- {q} | tail -c +{offset + 1}"
    return f"tail -c +{offset + 1} -- {q}"


def search_command(spec: StreamSpec, patterns: list[str], since: str) -> str:
    """A remote command printing the lines of ``spec`` since ``since`` that hold any of ``patterns``.

    Lines come out in the streaming form (docker stamp / journal JSON / raw file line); ``grep -F``
    only narrows them down: the caller still matches exactly.
    """
    greps = " ".join(f"-e {shlex.quote(p)}" for p in patterns)
    if spec.kind == "docker":
        since_q = shlex.quote(since)
        return (
            f"docker logs --timestamps --since {since_q} {shlex.quote(spec.target)} 2>&1 | grep -a -F {greps}"
        )
    if spec.kind == "journald":
        return (
            "journalctl -o json -a -q --no-pager --output-fields=MESSAGE "
            f"--since=-{since_seconds(since)}s {shlex.quote(spec.target)} 2>/dev/null | grep -a -F {greps}"
        )
    return f"grep -a -F {greps} -- {shlex.quote(spec.target)} 2>/dev/null"
