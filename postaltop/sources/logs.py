"""Stream Postal's logs from one host over SSH: find the sources, follow them, resume after faults.

Per host, :class:`HostLogStream` keeps one SSH connection and runs one remote process (one SSH
channel) per component: ``docker logs -f --timestamps`` for each Postal container, ``journalctl -f
-o json`` for each Postal unit, or ``tail -c +N -F`` for each v2 log file. Nothing is installed on
the host: plain SSH and commands already there.

Output is read in 256 KiB chunks and split by :class:`~postaltop.core.linesplit.LineSplitter`
(line-by-line async iteration is ~5x slower). Each batch goes through the stream's resume filter
(:mod:`postaltop.core.resume`) before the sink sees it, so after a reconnect, which replays from the
last position, no line is lost or delivered twice. The sink is awaited: a slow consumer stops our
reads, the SSH window fills and the remote process blocks; nothing buffers without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncssh

from postaltop.config import HostConfig
from postaltop.core.file_resume import ROTATIONS, FileResume, FileStat, ResumePlan, plan_resume
from postaltop.core.linesplit import LineSplitter
from postaltop.core.resume import DockerResume, JournalResume, docker_ts_token
from postaltop.sources.host_status import HostState, HostStatus
from postaltop.sources.ssh import (
    HostConnection,
    HostKeyChanged,
    HostKeyError,
    SshAuthError,
    SshConnectError,
    SshOptions,
    connect,
)

Sink = Callable[[str, str, list[bytes]], Awaitable[None]]
"""Receives ``(host, component, lines)``; lines have no newline and still carry transport stamps."""
StatusCallback = Callable[[HostStatus], None]

READ_CHUNK = 256 * 1024
CHANNEL_WINDOW = 8 * 1024 * 1024
"""Bytes the server may send ahead per channel: the bound on buffering, and the backfill throughput."""
MAX_PACKET = 256 * 1024
"""Largest SSH data packet we accept: fewer, bigger packets cost less per byte to decrypt."""
CHANNEL_TIMEOUT = 15.0
"""Seconds a channel may take to open (and a short command to finish): a host that accepts the SSH
connection but never answers on a channel does not hold the stream forever."""
ROTATED_EXIT = 75
"""Exit status of :func:`follow_command` when the name now points to another file (rotated)."""
TRUNCATED_EXIT = 76
"""Exit status of :func:`follow_command` when the file became shorter than what was read (truncated)."""
FOLLOW_POLL = 0.2
"""Seconds :func:`follow_command` sleeps when it has read everything."""
_POSTAL_NAME = re.compile(r"^postal[-_](?P<service>[a-z0-9]+)[-_](?P<index>\d+)$")
_SAFE_GLOB = re.compile(r"^[A-Za-z0-9_./*?\[\]-]+$")
_SINCE = re.compile(r"^(\d+)([smhd])$")
_FILE_COMPONENTS = {"smtp_server": "smtp", "web_server": "web", "web": "web", "worker": "worker"}
_V2_LOG_DIRS = ("/opt/postal/log", "/opt/postal/app/log", "/var/log/postal")
_SKIP_SERVICES = {"runner"}

_DOCKER_PS = (
    "docker ps --format "
    + shlex.quote(
        '{{.Names}}|{{.Label "com.docker.compose.project"}}|'
        '{{.Label "com.docker.compose.service"}}|{{.Image}}'
    )
    + " 2>&1 | sed 's/^/docker|/'"
)
_JOURNAL_UNITS = "journalctl -F _SYSTEMD_UNIT 2>/dev/null | sed 's/^/unit|/'"


class SourceNotFound(Exception):
    """No log source matched on the host; the message says what was tried."""


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One followed log: which component, how it is read, and what is read."""

    component: str
    kind: str
    """``docker``, ``journald`` or ``file``."""
    target: str
    """Container name, journal match (``_SYSTEMD_UNIT=x``) or file path."""


def _discovery_script(log_source: str) -> str:
    if log_source.startswith("files:"):
        pattern = log_source[len("files:") :]
        if not _SAFE_GLOB.match(pattern):
            raise SourceNotFound(
                f"log_source glob {pattern!r} may only hold letters, digits and _ . / * ? [ ] -"
            )
        return f'for f in {pattern}; do [ -f "$f" ] && echo "file|$f"; done; true'
    docker = (
        f"if command -v docker >/dev/null 2>&1; then {_DOCKER_PS}; else echo 'error|docker not found'; fi"
    )
    journal = f"if command -v journalctl >/dev/null 2>&1; then {_JOURNAL_UNITS}; fi"
    dirs = " ".join(f"{d}/*.log" for d in _V2_LOG_DIRS)
    files = f'for f in {dirs}; do [ -f "$f" ] && echo "file|$f"; done'
    if log_source == "docker":
        return f"{docker}; true"
    if log_source == "journald":
        return f"{journal}; true"
    # auto: the fallbacks are only asked when docker shows no Postal container (each costs time)
    return f'd=$({docker}); printf "%s\\n" "$d"; case "$d" in *postal*) ;; *) {journal}; {files};; esac; true'


def _docker_specs(rows: list[list[str]]) -> list[StreamSpec]:
    specs = []
    for row in rows:
        if len(row) < 4:
            continue
        name, project, service, image = row[0], row[1], row[2], "|".join(row[3:])
        named = _POSTAL_NAME.match(name)
        if not (project == "postal" or "postalserver/postal" in image or named):
            continue
        if not service and named:
            service = named.group("service")
        if not service or service in _SKIP_SERVICES or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            continue
        index = named.group("index") if named else (re.search(r"(\d+)$", name) or [None, "1"])[1]
        specs.append(StreamSpec(service if index in (None, "1") else f"{service}-{index}", "docker", name))
    return sorted(specs, key=lambda s: s.component)


def _unit_component(unit: str) -> str:
    base = unit.removesuffix(".service")
    for prefix in ("postal-", "postal_", "postal@"):
        if base.startswith(prefix):
            return base[len(prefix) :] or "postal"
    return base


def parse_discovery(output: str, log_source: str) -> list[StreamSpec]:
    """Choose the streams from the discovery script's output (docker, else journald, else files).

    Raises:
        SourceNotFound: nothing usable was found; the message lists what was seen.
    """
    rows = [line.split("|") for line in output.splitlines() if "|" in line]
    errors = [line.partition("|")[2] for line in output.splitlines() if line.startswith("error|")]
    docker_rows = [r[1:] for r in rows if r[0] == "docker"]
    docker_errors = ["|".join(r) for r in docker_rows if len(r) < 4 and r and r[0]]
    if log_source in ("auto", "docker"):
        specs = _docker_specs(docker_rows)
        if specs or log_source == "docker":
            if not specs:
                why = "; ".join(docker_errors + errors) or "no Postal containers are running"
                raise SourceNotFound(f"docker: {why[:300]}")
            return specs
    if log_source in ("auto", "journald"):
        units = sorted({r[1] for r in rows if r[0] == "unit" and len(r) == 2})
        picked = [
            u
            for u in units
            if "postal" in u.lower() and "postaltop" not in u.lower() and u.endswith(".service")
        ]
        specs = [StreamSpec(_unit_component(u), "journald", f"_SYSTEMD_UNIT={u}") for u in picked]
        if specs or log_source == "journald":
            if not specs:
                raise SourceNotFound("journald: no Postal units in the journal")
            return specs
    files = sorted({r[1] for r in rows if r[0] == "file" and len(r) == 2})
    specs = []
    for path in files:
        stem = path.rsplit("/", 1)[-1].removesuffix(".log")
        specs.append(StreamSpec(_FILE_COMPONENTS.get(stem, stem), "file", path))
    if specs:
        return specs
    tried = {"auto": "docker containers, journald units and v2 log files", "docker": "docker"}
    raise SourceNotFound(f"no Postal logs found ({tried.get(log_source, log_source)})")


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
        'dd bs=262144 iflag=skip_bytes,count_bytes skip="$sk" count=$((sz - off)) <&3 2>/dev/null || exit 1; '
        'off=$sz; sk=0; h=$(m "$off"); continue; fi; '
        f'[ "$(stat -L -c %d:%i -- "$f" 2>/dev/null)" = "$id" ] || exit {ROTATED_EXIT}; '
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
        process = await asyncio.wait_for(
            hc.conn.create_process(
                command,
                encoding=None,
                stdin=asyncssh.DEVNULL,
                stderr=asyncssh.DEVNULL,
                window=CHANNEL_WINDOW,
                max_pktsize=MAX_PACKET,
            ),
            CHANNEL_TIMEOUT,
        )
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
        process = await asyncio.wait_for(
            hc.conn.create_process(
                self.command(),
                encoding=None,
                stdin=asyncssh.DEVNULL,
                stderr=asyncssh.STDOUT,
                window=CHANNEL_WINDOW,
                max_pktsize=MAX_PACKET,
            ),
            CHANNEL_TIMEOUT,
        )
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


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential reconnect delays with jitter (so many hosts do not retry in lock-step)."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5
    """Fraction of the delay that is randomised (0.5 → between 50% and 100% of it)."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt number ``attempt`` (1 = first retry)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return base * (1.0 - self.jitter * rng.random())


class HostLogStream:
    """Follows every Postal log of one host, reconnecting and resuming forever until cancelled.

    Args:
        host: the host entry.
        options: SSH options (known_hosts, ssh config, other hosts for jump hosts).
        on_status: called with every status change (cheap; must not block).
        backoff: reconnect delays.
        rng: randomness for the jitter (seeded in tests).
    """

    def __init__(
        self,
        host: HostConfig,
        options: SshOptions | None = None,
        on_status: StatusCallback | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.options = options or SshOptions()
        self.on_status = on_status
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        self.streams: dict[StreamSpec, ComponentStream] = {}
        self.status = HostStatus(host.name, HostState.CONNECTING)
        self.connections = 0
        self.rediscover_after = 300.0
        """Seconds after which a reconnect looks for new containers again (each look costs a channel)."""
        self._discovered_at: float | None = None
        """Successful connections so far (the first one plus every reconnect)."""

    def _publish(self, status: HostStatus) -> None:
        self.status = status
        if self.on_status is not None:
            self.on_status(status)

    async def run(self, sink: Sink) -> None:
        """Stream until cancelled; never raises for remote trouble (it becomes a status)."""
        attempt = 0
        try:
            while True:
                state, detail, fp = await self._connect_and_stream(sink)
                if state is HostState.CONNECTED:
                    attempt = 0  # the connection worked: the next retry starts fast
                attempt += 1
                slow = state in (
                    HostState.HOST_KEY_UNKNOWN,
                    HostState.HOST_KEY_CHANGED,
                    HostState.AUTH_FAILED,
                )
                delay = self.backoff.maximum if slow else self.backoff.delay(attempt, self.rng)
                shown = HostState.RECONNECTING if state is HostState.CONNECTED else state
                self._publish(HostStatus(self.host.name, shown, detail, attempt, round(delay, 1), fp))
                await asyncio.sleep(delay)
        finally:
            self._publish(HostStatus(self.host.name, HostState.DISCONNECTED))

    async def _connect_and_stream(self, sink: Sink) -> tuple[HostState, str, str | None]:
        """One connection's life; returns how it ended (state, detail, fingerprint)."""
        try:
            hc = await connect(self.host, self.options)
        except HostKeyError as exc:
            state = (
                HostState.HOST_KEY_CHANGED if isinstance(exc, HostKeyChanged) else HostState.HOST_KEY_UNKNOWN
            )
            return state, str(exc), exc.fingerprint
        except SshAuthError as exc:
            return HostState.AUTH_FAILED, str(exc), None
        except SshConnectError as exc:
            return HostState.RECONNECTING, str(exc), None
        self.connections += 1
        try:
            return await self._stream_all(hc, sink)
        finally:
            hc.close()

    async def _stream_all(self, hc: HostConnection, sink: Sink) -> tuple[HostState, str, str | None]:
        """Follow every stream on ``hc``; known streams restart at once while discovery runs."""
        started: set[StreamSpec] = set()
        async with asyncio.TaskGroup() as group:

            def start_streams() -> None:
                for spec, stream in self.streams.items():
                    if spec not in started:
                        started.add(spec)
                        group.create_task(self._follow(stream, hc, sink))
                components = tuple(s.component for s in self.streams)
                self._publish(HostStatus(self.host.name, HostState.CONNECTED, components=components))

            if self.streams:
                start_streams()  # a reconnect: resume at once, every channel open costs a shell start
            if not self._discovery_due():
                return HostState.CONNECTED, "connection lost", None
            try:
                await self._discover(hc)
            except SourceNotFound as exc:
                if not started:
                    return HostState.SOURCE_NOT_FOUND, str(exc), None
            except (asyncssh.Error, OSError) as exc:
                if not started:
                    return HostState.RECONNECTING, f"discovery failed: {exc}", None
            else:
                start_streams()
        return HostState.CONNECTED, "connection lost", None

    def _discovery_due(self) -> bool:
        if not self.streams or self._discovered_at is None:
            return True
        if any(s.last_exit not in (None, 0) for s in self.streams.values()):
            return True  # a container or unit went away: look again
        return time.monotonic() - self._discovered_at > self.rediscover_after

    async def _discover(self, hc: HostConnection) -> None:
        """(Re)discover the streams; known ones keep their resume state."""
        script = _discovery_script(self.host.log_source)
        result = await hc.conn.run(script, check=False)
        output = result.stdout if isinstance(result.stdout, str) else ""
        try:
            specs = parse_discovery(output, self.host.log_source)
            self._discovered_at = time.monotonic()
        except SourceNotFound:
            if self.streams:
                return  # transiently nothing (containers restarting): keep following what we had
            raise
        for spec in specs:
            if spec not in self.streams:
                self.streams[spec] = ComponentStream(self.host.name, spec, self.host.since)

    async def _follow(self, stream: ComponentStream, hc: HostConnection, sink: Sink) -> None:
        """Re-run one stream's command on this connection until the connection ends."""
        idle_runs = 0
        while not hc.is_closed():
            started = time.monotonic()
            try:
                got = await stream.run_once(hc, sink)
            except (asyncssh.Error, OSError) as exc:
                stream.last_error = str(exc)
                if hc.is_closed():
                    return
                got = 0
            if hc.is_closed():
                return
            if stream.last_exit not in (None, 0) or stream.last_error:
                components = tuple(s.component for s in self.streams)
                detail = f"{stream.spec.component}: {stream.last_error or f'exit status {stream.last_exit}'}"
                self._publish(HostStatus(self.host.name, HostState.CONNECTED, detail, components=components))
            # The command ended with the connection alive (container stopped, unit gone): retry
            # with a growing delay, without tearing down the other streams of the host.
            idle_runs = 0 if got and time.monotonic() - started > 1.0 else idle_runs + 1
            await asyncio.sleep(self.backoff.delay(idle_runs, self.rng))


# -- one-off searches (``postaltop trace``) ----------------------------------------------


async def discover_specs(hc: HostConnection, log_source: str) -> list[StreamSpec]:
    """The host's log streams, as :class:`HostLogStream` would follow them.

    Raises:
        SourceNotFound: nothing usable was found.
        asyncssh.Error, OSError: the discovery command failed.
    """
    result = await hc.conn.run(_discovery_script(log_source), check=False)
    output = result.stdout if isinstance(result.stdout, str) else ""
    return parse_discovery(output, log_source)


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


async def search_stream(hc: HostConnection, spec: StreamSpec, patterns: list[str], since: str) -> list[bytes]:
    """Run :func:`search_command` and return its lines (journal records turned into stamped lines)."""
    from postaltop.core.resume import journal_record

    result = await hc.conn.run(search_command(spec, patterns, since), check=False, encoding=None)
    out = result.stdout if isinstance(result.stdout, bytes) else b""
    lines = LineSplitter().feed(out)
    if out and not out.endswith(b"\n"):
        lines.append(out.rsplit(b"\n", 1)[-1])
    if spec.kind == "journald":
        records = [journal_record(line) for line in lines]
        return [rec[1] for rec in records if rec is not None]
    if spec.kind == "docker":
        return [line for line in lines if docker_ts_token(line) is not None]
    return lines
