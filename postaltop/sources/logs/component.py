"""One followed log (a container, a journal unit or a file) and its resume position across reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import Awaitable, Callable

import asyncssh

from postaltop.core.file_resume import FileResume, FileStat, ResumePlan, plan_resume
from postaltop.core.linesplit import LineSplitter
from postaltop.core.resume import DockerResume, JournalResume, docker_ts_token
from postaltop.sources.logs.commands import (
    ROTATED_EXIT,
    TRUNCATED_EXIT,
    file_state_script,
    follow_command,
    read_command,
    since_seconds,
)
from postaltop.sources.logs.discovery import StreamSpec
from postaltop.sources.ssh import HostConnection

Sink = Callable[[str, str, list[bytes]], Awaitable[None]]
"""Receives ``(host, component, lines)``; lines have no newline and still carry transport stamps."""


READ_CHUNK = 256 * 1024


CHANNEL_WINDOW = 8 * 1024 * 1024
"""Bytes the server may send ahead per channel: the bound on buffering, and the backfill throughput."""


MAX_PACKET = 256 * 1024
"""Largest SSH data packet we accept: fewer, bigger packets cost less per byte to decrypt."""


CHANNEL_TIMEOUT = 15.0
"""Seconds a channel may take to open (and a short command to finish): a host that accepts the SSH
connection but never answers on a channel does not hold the stream forever."""


class ComponentStream:
    """One followed log and its resume position, which survives reconnects."""

    def __init__(self, host: str, spec: StreamSpec, since: str) -> None:
        self.host = host
        self.spec = spec
        self.since = since
        self.docker = DockerResume()
        self.journal = JournalResume()
        self.file = FileResume()
        self._file_started = False
        self.lines_delivered = 0
        self.last_exit: int | None = None
        self.last_error = ""

    def command(self) -> str:
        """The remote shell command for the next run (resuming from the last position)."""
        spec = self.spec
        if spec.kind == "docker":
            since = shlex.quote(self.docker.since_arg() or self.since)
            return f"exec docker logs -f --timestamps --since {since} {shlex.quote(spec.target)} 2>&1"
        if spec.kind == "journald":
            cursor = self.journal.after_cursor_arg()
            where = (
                f"--after-cursor={shlex.quote(cursor)}"
                if cursor
                else f"--since=-{since_seconds(self.since)}s"
            )
            return (
                "exec journalctl -f -o json -a -q --no-pager --output-fields=MESSAGE "
                f"{where} {shlex.quote(spec.target)} 2>&1"
            )
        return follow_command(spec.target, self.file)

    async def _run(self, hc: HostConnection, command: str) -> str:
        """A short remote command's whole output, the channel bounded by :data:`CHANNEL_TIMEOUT`.

        Raises:
            OSError: the command did not run to its end (the connection dropped meanwhile): a partial
                answer would make a resume decide on what it did not see.
        """
        result = await asyncio.wait_for(hc.conn.run(command + "; echo end", check=False), CHANNEL_TIMEOUT)
        out = result.stdout if isinstance(result.stdout, str) else ""
        if result.exit_status != 0 or not out.endswith("end\n"):
            raise OSError(f"{self.spec.target}: the state check was interrupted")
        return out

    async def _file_state(
        self, hc: HostConnection, *, compressed: bool
    ) -> tuple[list[FileStat], dict[str, bytes]]:
        """``stat`` of the file and its rotations, and the check bytes before the position in each."""
        out = await self._run(hc, file_state_script(self.spec.target, self.file, compressed=compressed))
        stats: list[FileStat] = []
        checks: dict[str, bytes] = {}
        for line in out.splitlines():
            kind, _, rest = line.partition("|")
            suffix, _, value = rest.partition("|")
            path = self.spec.target + suffix
            if kind == "stat":
                parts = value.split()
                if len(parts) == 2 and parts[1].isdigit():
                    stats.append(FileStat(path, parts[0], int(parts[1])))
            elif kind == "chk":
                with contextlib.suppress(ValueError):
                    checks[path] = bytes.fromhex(value.strip())
        return stats, checks

    async def _run_file(self, hc: HostConnection, sink: Sink) -> int:
        """Follow the file; after a rotation or truncation (seen now or while away) continue where it was."""
        delivered = 0
        while True:
            stats, checks = await self._file_state(hc, compressed=False)
            current = next((s for s in stats if s.path == self.spec.target), None)
            if not self._file_started:
                if current is None:
                    self.last_exit, self.last_error = 1, f"{self.spec.target}: no such file"
                    return delivered
                self.file.start_at(current.size, current.identity)  # files have no time index
                self._file_started = True
            else:
                rotated = [s for s in stats if s.path != self.spec.target]
                plan = plan_resume(self.file, current, rotated, checks)
                if plan.event == "gap" and any(s.compressed for s in rotated) and self.file.check_len:
                    _, more = await self._file_state(hc, compressed=True)
                    plan = plan_resume(self.file, current, rotated, {**checks, **more})
                self.file.resumes += 1
                if plan.event != "resumed":
                    self.file.events.append(plan.note or plan.event)
                    if plan.note:
                        self.last_error = plan.note
                delivered += await self._read_rotated(hc, plan, sink)
                if current is None:
                    self.last_exit, self.last_error = 1, f"{self.spec.target}: no such file (being rotated?)"
                    return delivered
                if plan.rest_of is not None or plan.event != "resumed":
                    self.file.start_at(plan.follow_from, current.identity)
            code, got = await self._stream(hc, follow_command(self.spec.target, self.file), sink, final=False)
            delivered += got
            self.last_exit = code
            if code in (ROTATED_EXIT, TRUNCATED_EXIT) and not hc.is_closed():
                continue  # seen while following: read the rest of the old file, then the new one
            return delivered

    async def _read_rotated(self, hc: HostConnection, plan: ResumePlan, sink: Sink) -> int:
        """The rest of the rotated file holding the position, then the newer rotations whole."""
        delivered = 0
        segments = []
        if plan.rest_of is not None:
            segments.append((plan.rest_of, plan.rest_from))
        segments += [(stat, 0) for stat in plan.whole]
        for stat, offset in segments:
            self.file.start_at(offset, stat.identity)
            if offset == 0:
                self.file.last_line = b""
            code, got = await self._stream(hc, read_command(stat, offset), sink, final=True)
            delivered += got
            if code != 0 or hc.is_closed():
                raise OSError(f"reading the rotated {stat.path} failed (exit status {code})")
        return delivered

    async def _stream(
        self, hc: HostConnection, command: str, sink: Sink, *, final: bool
    ) -> tuple[int | None, int]:
        """Run one file command, feeding the position; ``final``: a complete file (its last line is final)."""
        process = await _open(hc, command, asyncssh.DEVNULL)
        splitter = LineSplitter()
        delivered = 0
        try:
            while chunk := await process.stdout.read(READ_CHUNK):
                self.file.feed(chunk)
                lines = splitter.feed(chunk)
                if lines:
                    delivered += await self._deliver(lines, sink)
            await process.wait_closed()
            if final and process.exit_status == 0 and not hc.is_closed():
                tail = splitter.flush()
                self.file.finish_file()
                if tail is not None:
                    delivered += await self._deliver([tail], sink)
        finally:
            process.close()
        self.lines_delivered += delivered
        return process.exit_status, delivered

    async def run_once(self, hc: HostConnection, sink: Sink) -> int:
        """Run the remote command until it exits or the connection drops; return lines delivered.

        Raises:
            asyncssh.Error, OSError: the channel or connection failed.
        """
        kind = self.spec.kind
        if kind == "file":
            return await self._run_file(hc, sink)
        if kind == "docker":
            self.docker.begin_resume()
        else:
            self.journal.begin_resume()
        process = await _open(hc, self.command(), asyncssh.STDOUT)
        splitter = LineSplitter()
        delivered = 0
        first = True
        try:
            stdout = process.stdout
            while True:
                chunk = await stdout.read(READ_CHUNK)
                if not chunk:
                    break
                lines = splitter.feed(chunk)
                if lines:
                    if first and kind == "docker":
                        lines = self._divert_cli_messages(lines)
                    first = False
                    delivered += await self._deliver(lines, sink)
            await process.wait_closed()
            self.last_exit = process.exit_status
            # A partial last line is final only if the command itself ended; after a lost
            # connection it is dropped here and comes back whole with the resume replay.
            if process.exit_status is not None and not hc.is_closed():
                tail = splitter.flush()
                if tail is not None:
                    final = self._divert_cli_messages([tail]) if kind == "docker" else [tail]
                    delivered += await self._deliver(final, sink)
        finally:
            process.close()
        self.lines_delivered += delivered
        return delivered

    def _divert_cli_messages(self, lines: list[bytes]) -> list[bytes]:
        """Keep the docker CLI's own messages (``No such container`` ...) out of the log.

        With ``--timestamps`` every line of the container, stdout or stderr, carries docker's
        stamp; an unstamped line comes from the CLI or the shell. Such messages appear when a run
        starts or ends, so only the first batch and the final line are checked (the hot path
        stays per batch).
        """
        kept = [line for line in lines if docker_ts_token(line) is not None]
        if len(kept) != len(lines):
            message = next(line for line in lines if docker_ts_token(line) is None)
            self.last_error = message[:300].decode("utf-8", "backslashreplace")
        return kept

    async def _deliver(self, lines: list[bytes], sink: Sink) -> int:
        kind = self.spec.kind
        if kind == "docker":
            lines = self.docker.accept(lines)
        elif kind == "journald":
            lines = self.journal.accept(lines)
        if lines:
            await sink(self.host, self.spec.component, lines)
        return len(lines)


async def _open(hc: HostConnection, command: str, stderr: int) -> asyncssh.SSHClientProcess[bytes]:
    """Start ``command`` on its own channel (bytes out, the wide window) within the channel timeout."""
    return await asyncio.wait_for(
        hc.conn.create_process(
            command,
            encoding=None,
            stdin=asyncssh.DEVNULL,
            stderr=stderr,
            window=CHANNEL_WINDOW,
            max_pktsize=MAX_PACKET,
        ),
        CHANNEL_TIMEOUT,
    )
