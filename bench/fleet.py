"""Benchmark: a fleet of SSH hosts streaming live into the real engine.

``--hosts`` hosts (default 20) each stream one Postal log at ``--rate`` lines/s (default 1,000) for
``--seconds`` (default 60) through real OpenSSH ``sshd`` processes on loopback
(``tests/support/sshd.py``), into postaltop's monitor path: ``LogRunner`` (one ``HostLogStream`` and
one SSH connection per host, time-order merge, skew detection) → ``Engine.submit`` (bounded queue) →
``Engine.run`` (parse, store, facts).

Scaled for a 2-core machine: the hosts share ``--sshd`` servers (default 4, five connections each),
and each host follows its own log file (``log_source = "files:…"``, a ``dd`` follower loop on the server) that
one writer process appends numbered Postal v3 lines to every 20 ms. A first version with one sshd
and one Python ``docker`` shim per host spent most of both cores in the 20 shims' polling loops,
so the lag it measured was the machine's, not postaltop's.

Measured in the same run:

* ``cpu_percent``: this process's CPU time / wall time while streaming (100 = one core);
* ``system_cpu_percent``: the whole machine's busy share of all cores (sshd, tail, writer included);
* ``loop_lag_p99_ms``: how late a 10 ms timer fires on postaltop's event loop, 99th percentile
  (target ≤ 50 ms);
* ``lost`` / ``duplicated``: from the number embedded in every line, per host, read from the engine's store
  once the run is over (target 0; counting them on the event loop during the run cost the loop ~20 %).

By default the simulated hosts (sshd, their follower loops, the writer) run on every CPU but the first
and postaltop on the first (``pinned`` in the output), as the hosts would be other machines; ``--no-pin``
lets them share every CPU.

``figure`` is the lag p99; ``ratio`` = target / figure (≥ 1 meets the target). ``--quick``: 4 hosts x 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import upper_quantile  # noqa: E402
from ingest import generate  # noqa: E402  (bench/ingest.py: realistic Postal v3 lines)
from memory import peak_rss_mb  # noqa: E402

from postaltop.config import HostConfig  # noqa: E402
from postaltop.config.sections.detection import DetectionConfig  # noqa: E402
from postaltop.core.logstore import LogStore  # noqa: E402
from postaltop.engine import Engine  # noqa: E402
from postaltop.runtime import build_monitor  # noqa: E402
from postaltop.sources.host_status import HostState  # noqa: E402
from postaltop.sources.log_runner import LogRunner  # noqa: E402
from postaltop.sources.logs import Backoff  # noqa: E402
from postaltop.sources.ssh import SshOptions  # noqa: E402
from postaltop.ui.app import PostaltopApp  # noqa: E402
from tests.support.shims._shimlib import NUMBER_RE  # noqa: E402
from tests.support.sshd import SshdServer, start_sshd  # noqa: E402

LAG_TARGET_MS = 50.0
TICK_S = 0.01


_HOST_CPUS: set[int] = set()
"""CPUs the simulated hosts (sshd, their follower loops, the writer) run on when pinned; empty: not pinned."""

_SERVERS: list[SshdServer] = []
"""The sshd servers of this run (killed on SIGTERM too)."""


def _on_sigterm(_signum: int, _frame: object) -> None:
    """Killed without this, the sshd servers and their remote follower loops (one per host) kept running, and
    loading the machine, long after the bench (the app's own SIGTERM handler ends the process in 2 s)."""
    for server in _SERVERS:
        server.kill()
    os._exit(143)


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON result."""
    print(message, file=sys.stderr, flush=True)


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


class Checker:
    """Counts every line per host by the number it carries: lost and duplicated lines.

    During the run only the lines received are counted (the event loop under test pays nothing more than
    production does); the numbers are read from what the engine stored once the run is over, so a line
    lost or repeated anywhere from the file to the store is found.
    """

    def __init__(self) -> None:
        self.seen: dict[str, bytearray] = {}
        self.duplicated = 0
        self.unnumbered = 0
        self.lines = 0

    def count(self, lines: list[bytes] | tuple[bytes, ...]) -> None:
        self.lines += len(lines)

    def check_store(self, store: LogStore) -> int:
        """Read every stored line's number, per host; returns the lines read."""
        read = 0
        for block, skip in store.iter_blocks():
            lines = bytes(block.buffer).split(b"\n")[skip : len(block)]
            for host_id, line in zip(block.host[skip:], lines, strict=True):
                self._mark(store.hosts.name(host_id), line)
            read += len(lines)
        return read

    def _mark(self, host: str, line: bytes) -> None:
        marks = self.seen.setdefault(host, bytearray())
        match = NUMBER_RE.search(line)
        if match is None:
            self.unnumbered += 1
            return
        n = int(match.group(1))
        if n >= len(marks):
            marks.extend(b"\0" * (n + 1 - len(marks) + 4096))
        if marks[n]:
            self.duplicated += 1
        marks[n] = 1

    def received(self, host: str) -> int:
        return self.seen.get(host, bytearray()).count(1)


async def lag_monitor(samples: list[float], stop: asyncio.Event) -> None:
    """Record how late each TICK_S sleep wakes up (ms)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        started = loop.time()
        await asyncio.sleep(TICK_S)
        samples.append(max(0.0, (loop.time() - started - TICK_S) * 1000))


_NUMBER_SLOTS = (
    (re.compile(rb"trace_id=[A-Z0-9]{8}"), b"trace_id=T%(n)d"),
    (re.compile(rb"queued_message=\d+"), b"queued_message=%(n)d"),
    (re.compile(rb"(request_id=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)[0-9a-z]+"), rb"\1%(n)d"),
)


def line_templates(count: int = 6000) -> list[bytes]:
    """Realistic Postal v3 lines (bench/ingest.py's generator: SMTP conversations with SGR codes,
    worker deliveries, web requests; about one in five carries a fact) without their time stamp,
    each with a slot for the line number the checker reads (a trace id, queued message or request
    id, where Postal writes those)."""
    mixed = [line for lines in generate(count, seed=5).values() for line in lines]
    random.Random(5).shuffle(mixed)  # the components' share as generated, interleaved
    out = []
    for line in mixed:
        body = line[25:].replace(b"%", b"%%")
        for pattern, slot in _NUMBER_SLOTS:
            body, found = pattern.subn(slot, body)
            if found:
                out.append(body + b"\n")
                break
    return out


def writer_main(root: Path, hosts: int, rate: float, seconds: float) -> None:
    """The log writer (a separate process): append numbered Postal lines to every host's file."""
    files = [(root / f"h{i}.log").open("ab", buffering=0) for i in range(hosts)]
    per_host = int(rate * seconds)
    templates = line_templates()
    started = time.monotonic()
    written = 0
    while written < per_host:
        due = min(per_host, int((time.monotonic() - started) * rate) + 1)
        if due > written:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime()).encode()
            chunk = b"".join(stamp + templates[n % len(templates)] % {b"n": n} for n in range(written, due))
            for fh in files:
                fh.write(chunk)
            written = due
        time.sleep(0.02)
    for fh in files:
        fh.close()


async def run_fleet(
    servers: list[SshdServer], root: Path, n_hosts: int, rate: float, seconds: float, ui: bool
) -> dict[str, object]:
    """Stream the fleet into the engine, the detection monitor attached; with ``ui`` the headless app
    runs the engine and renders (the log panel following, the chart and alert list shown)."""
    engine = Engine(retained_lines=max(1_000_000, int(rate * seconds) * n_hosts + 10_000), refresh_hz=10)
    monitor = build_monitor(DetectionConfig())
    monitor.attach(engine)  # as the runtime attaches it (facts -> detectors)
    if not ui:
        runner_task = asyncio.create_task(engine.run())
        try:
            return await _stream(servers, root, n_hosts, rate, seconds, engine)
        finally:
            runner_task.cancel()
    app = PostaltopApp(engine, mode="bench", persist_filters=False, monitor=monitor)
    async with app.run_test(size=(120, 36), headless=True) as pilot:
        await pilot.pause()
        signal.signal(signal.SIGTERM, _on_sigterm)  # the app installed its own: the servers must go too
        result = await _stream(servers, root, n_hosts, rate, seconds, engine)
        shown = len(engine.store)
        await pilot.pause(0.2)
    result["ui_attached"] = True
    result["stored"] = shown
    return result


async def _stream(
    servers: list[SshdServer], root: Path, n_hosts: int, rate: float, seconds: float, engine: Engine
) -> dict[str, object]:
    per_host = int(rate * seconds)
    hosts = []
    for i in range(n_hosts):
        server = servers[i % len(servers)]
        path = root / f"h{i}.log"
        path.touch()
        hosts.append(
            HostConfig(
                name=f"mx{i + 1:02d}",
                address="127.0.0.1",
                port=server.port,
                user=server.user,
                key_file=server.client_key,
                log_source=f"files:{path}",
            )
        )
    options = SshOptions(known_hosts=[s.known_hosts for s in servers], ssh_config=[], connect_timeout=60)
    checker = Checker()
    expected = per_host * n_hosts
    done = asyncio.Event()

    async def submit(host: str, component: str, lines: object) -> None:
        checker.count(lines)  # type: ignore[arg-type]
        await engine.submit(host, component, lines)  # type: ignore[arg-type]
        if checker.lines >= expected:
            done.set()

    runner = LogRunner(
        hosts,
        options,
        submit,
        merge_window=1.0,
        backoff=Backoff(initial=0.5, maximum=5.0),
        rng=random.Random(1),
    )
    lags: list[float] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(runner.run())]
    connect_started = time.perf_counter()
    while sum(s.state is HostState.CONNECTED for s in runner.statuses.values()) < n_hosts:
        if time.perf_counter() - connect_started > 120:
            raise SystemExit(f"hosts did not connect: {[s.describe() for s in runner.statuses.values()]}")
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # every file follower is running
    log(f"{n_hosts} hosts connected in {time.perf_counter() - connect_started:.1f}s; streaming")
    tasks.append(asyncio.create_task(lag_monitor(lags, stop)))
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--writer",
        str(root),
        "--hosts",
        str(n_hosts),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
    )
    if _HOST_CPUS:
        os.sched_setaffinity(writer.pid, _HOST_CPUS)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0, total0 = cpu_busy()
    wall0 = time.perf_counter()
    timed_out = False
    deadline = wall0 + seconds + 60
    while not done.is_set() and time.perf_counter() < deadline:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=10)
        log(
            f"  {time.perf_counter() - wall0:5.1f}s: {checker.lines:,} lines received, "
            f"{engine.stats.ingested:,} ingested, queue {engine.pending}"
        )
    timed_out = not done.is_set()
    await runner.flush()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(engine.drain(), timeout=30)
    wall = time.perf_counter() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, total1 = cpu_busy()
    states = sorted({s.state.value for s in runner.statuses.values()})
    stop.set()
    await writer.wait()
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    log("checking every stored line's number ...")
    checked = checker.check_store(engine.store)
    cpu = (usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime) / wall * 100
    lost = sum(per_host - checker.received(h.name) for h in hosts)
    lags.sort()
    p99 = upper_quantile(lags, 0.99) if lags else 0.0
    return {
        "lines": checker.lines,
        "expected": expected,
        "checked_in_store": checked,
        "ingested": engine.stats.ingested,
        "lost": lost,
        "duplicated": checker.duplicated,
        "unnumbered": checker.unnumbered,
        "cpu_percent": round(cpu, 1),
        "system_cpu_percent": round((busy1 - busy0) / max(1.0, total1 - total0) * 100, 1),
        "loop_lag_p99_ms": round(p99, 1),
        "loop_lag_median_ms": round(statistics.median(lags), 2) if lags else 0.0,
        "loop_lag_max_ms": round(lags[-1], 1) if lags else 0.0,
        "wall_seconds": round(wall, 1),
        "timed_out": timed_out,
        "merge_released_early": runner.merge.released_early,
        "queue_full_waits": engine.stats.queue_full_waits,
        "not_ingested_at_end": expected - engine.stats.ingested,
        "host_states": states,
        "ui_attached": False,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def _pin(servers: list[SshdServer], *, enabled: bool) -> dict[str, list[int]] | None:
    """Keep the simulated hosts off postaltop's CPU: the first CPU for this process, the others for them.

    In production each Postal host is another machine; here its sshd, follower loop and the log writer would
    otherwise take CPU time from the process under test, and the lag measured would be the machine's.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if not enabled or len(cpus) < 2:
        return None
    _HOST_CPUS.update(cpus[1:])
    for server in servers:
        if server.proc is not None:
            os.sched_setaffinity(server.proc.pid, _HOST_CPUS)  # the sessions sshd forks inherit it
    os.sched_setaffinity(0, {cpus[0]})
    return {"postaltop": cpus[:1], "hosts": cpus[1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 hosts for 10 s")
    parser.add_argument("--hosts", type=int, default=None, help="hosts (default 20)")
    parser.add_argument("--sshd", type=int, default=None, help="sshd servers the hosts share (default 4)")
    parser.add_argument("--rate", type=float, default=1000.0, help="lines per second per host")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of log per host (default 60)")
    parser.add_argument("--no-ui", action="store_true", help="engine and monitor only (idealised: no app)")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the simulated hosts share every CPU with postaltop (default: every CPU but the first)",
    )
    parser.add_argument("--writer", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_hosts = args.hosts or (4 if args.quick else 20)
    seconds = args.seconds or (10.0 if args.quick else 60.0)
    if args.writer is not None:
        writer_main(args.writer, n_hosts, args.rate, seconds)
        return
    n_sshd = max(1, min(n_hosts, args.sshd or (2 if args.quick else 4)))
    with tempfile.TemporaryDirectory(prefix="postaltop_bench_fleet_") as tmp:
        servers = _SERVERS
        signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            for i in range(n_sshd):
                servers.append(start_sshd(Path(tmp) / f"sshd{i}"))
            pinned = _pin(servers, enabled=not args.no_pin)
            total = int(args.rate * seconds) * n_hosts
            log(f"{n_sshd} sshd; {n_hosts} hosts x {args.rate:g} lines/s x {seconds:g} s = {total:,} lines")
            result = asyncio.run(run_fleet(servers, Path(tmp), n_hosts, args.rate, seconds, not args.no_ui))
        finally:
            for server in servers:
                server.kill()
    log(json.dumps(result))
    p99 = float(result["loop_lag_p99_ms"])  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "bench": "fleet",
                "figure": p99,
                "unit": "ms event-loop lag p99",
                "target": LAG_TARGET_MS,
                "ratio": round(LAG_TARGET_MS / max(p99, 0.1), 2),
                "hosts": n_hosts,
                "sshd": n_sshd,
                "rate": args.rate,
                "seconds": seconds,
                "pinned": pinned,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
