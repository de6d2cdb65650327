"""Soak: sshd kills and database outages under a live stream: no line lost or repeated, quick recovery.

Runs, concurrently, on this machine's real services:

* a ``files:`` log source followed over SSH from a loopback sshd, fed by a writer at ``--rate`` lines/s; sshd
  is killed ``--kills`` times mid-stream (every tenth kill the file is also rotated while sshd is down, every
  tenth plus five it is rotated with ``copytruncate`` while streaming);
* Postal's database polled through a fault-injecting TCP proxy, with ``--outages`` outages that alternate
  stall (accepts, never answers), refuse (nothing listens) and cut (connections dropped).

The production path: :class:`~postaltop.sources.logs.HostLogStream` and
:class:`~postaltop.sources.postal_db.PostalDbSource` with their own reconnect loops (backoff capped at
``--retry-cap`` seconds for SSH, ``--db-retry-cap`` for the database).

Prints lines written / received / lost / duplicated and recovery p50/p99 (seconds from the end of a fault to
the first line read after it, or the first connected poll), compared with the retry interval (the ceiling
the issue sets: recovery within one retry interval after the fault ends). Last line: JSON.

    python bench/soak.py                      # 100 kills, 20 outages (~4 min)
    python bench/soak.py --kills 10 --outages 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import percentile

from postaltop.sources.host_status import HostState
from postaltop.sources.logs import Backoff, HostLogStream
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.fault_proxy import FaultProxy
from tests.support.postal_builder import bench_layout, build
from tests.support.ssh_client import host_config, ssh_options
from tests.support.sshd import start_sshd


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Writer(threading.Thread):
    """Appends numbered lines to the log at ``rate`` lines/s (reopening the file each time, as after a
    rotation a writer does)."""

    def __init__(self, path: Path, rate: float) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.rate = rate
        self.written = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def line(self, n: int) -> bytes:
        return b"[smtp_server.1:12] 2026-05-04T10:00:00.000 INFO soak line %09d\n" % n

    def run(self) -> None:
        batch = max(1, int(self.rate / 20))
        while not self.stop.is_set():
            with self.lock, self.path.open("ab") as fh:
                fh.write(b"".join(self.line(self.written + i) for i in range(batch)))
                self.written += batch
            time.sleep(batch / self.rate)

    def rotate(self, copytruncate: bool) -> None:
        """As logrotate does with ``rotate 2``: ``.1`` becomes ``.2``, then rename or copy + truncate."""
        with self.lock:
            rotated = self.path.with_name(self.path.name + ".1")
            if rotated.exists():
                rotated.rename(self.path.with_name(self.path.name + ".2"))
            if copytruncate:
                shutil.copyfile(self.path, rotated)
                with self.path.open("r+b") as fh:
                    fh.truncate(0)
            else:
                self.path.rename(rotated)
                self.path.touch()


async def ssh_soak(args: argparse.Namespace, root: Path, result: dict[str, Any]) -> None:
    sshd = start_sshd(root / "sshd")
    log_dir = root / "log"
    log_dir.mkdir()
    path = log_dir / "smtp_server.log"
    path.write_bytes(b"")
    writer = Writer(path, args.rate)
    received: list[bytes] = []
    arrivals: list[float] = []

    async def sink(host: str, component: str, lines: list[bytes]) -> None:
        now = time.monotonic()
        received.extend(lines)
        arrivals.extend([now] * len(lines))

    stream = HostLogStream(
        host_config(sshd, log_source=f"files:{log_dir}/*.log"),
        ssh_options(sshd),
        backoff=Backoff(initial=0.05, maximum=args.retry_cap),
        rng=random.Random(5),
    )
    task = asyncio.create_task(stream.run(sink))
    recoveries: list[float] = []
    rng = random.Random(9)
    try:
        while not (stream.streams and any(s.file.identity for s in stream.streams.values())):
            await asyncio.sleep(0.05)
        writer.start()
        for kill in range(args.kills):
            await asyncio.sleep(rng.uniform(0.2, 0.6))  # streaming
            if kill % 10 == 5:
                writer.rotate(copytruncate=True)
                await asyncio.sleep(0.2)
            sshd.kill()
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            if kill % 10 == 9:
                writer.rotate(copytruncate=False)
            sshd.start()
            back = time.monotonic()
            seen = len(received)
            deadline = back + 30
            while len(received) == seen and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            recoveries.append(arrivals[seen] - back if len(received) > seen else float("inf"))
            if (kill + 1) % 20 == 0:
                log(f"ssh: {kill + 1} kills, {len(received)} lines")
        writer.stop.set()
        writer.join()
        deadline = time.monotonic() + 30
        while len(received) < writer.written and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # anything repeated would arrive now
    finally:
        writer.stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sshd.kill()
    expected = {writer.line(n).rstrip(b"\n") for n in range(writer.written)}
    got = set(received)
    result.update(
        sshd_kills=args.kills,
        lines_written=writer.written,
        lines_received=len(received),
        lines_lost=len(expected - got),
        lines_duplicated=len(received) - len(got),
        lines_unexpected=len(got - expected),
        first_lost=sorted(int(x.rsplit(b" ", 1)[1]) for x in expected - got)[:5],
        in_order=received == sorted(received),
        ssh_recovery_p50_s=round(percentile(recoveries, 50), 3),
        ssh_recovery_p99_s=round(percentile(recoveries, 99), 3),
        ssh_retry_interval_s=args.retry_cap,
        host_state_at_end=stream.status.state.value
        if stream.status.state is not HostState.CONNECTED
        else "ok",
    )


async def db_soak(args: argparse.Namespace, result: dict[str, Any]) -> None:
    target = mysql.target_from_env()
    problem = mysql.reachable(target)
    if problem is not None or not args.outages:
        result.update(db_outages=0, db_skipped=problem or "--outages 0")
        return
    with mysql.prefix_scope(target) as prefix:
        conn = mysql.connect(target)
        try:
            build(conn, prefix, layout=bench_layout(3, 300), seed=3, weeks=1)
        finally:
            conn.close()
        proxy = FaultProxy(target.host, target.port)
        proxy.start()
        config = mysql.database_config(
            target, prefix, host="127.0.0.1", port=proxy.port, poll_interval=1.0, query_timeout=1.0
        )
        source = PostalDbSource(config, environ={}, backoff_base=0.2, backoff_cap=args.db_retry_cap)
        results: list[tuple[float, Any]] = []

        async def poll() -> None:
            async for r in source.samples():
                results.append((time.monotonic(), r))

        task = asyncio.create_task(poll())
        recoveries: list[float] = []
        states: dict[str, int] = {}
        polls_during: list[int] = []
        try:
            while not results or not results[-1][1].connected:
                await asyncio.sleep(0.05)
            kinds = ("stall", "refuse", "cut")
            for outage in range(args.outages):
                kind = kinds[outage % 3]
                start_count = len(results)
                if kind == "stall":
                    proxy.stall()
                elif kind == "refuse":
                    proxy.refuse()
                else:
                    proxy.drop_after(0)
                    proxy.cut_all()
                await asyncio.sleep(args.outage_seconds)
                polls_during.append(len(results) - start_count)
                for _, r in results[start_count:]:
                    if not r.connected:
                        states[r.state] = states.get(r.state, 0) + 1
                proxy.heal()
                healed = time.monotonic()
                seen = len(results)
                deadline = healed + 60
                while time.monotonic() < deadline:
                    later = [t for t, r in results[seen:] if r.connected]
                    if later:
                        recoveries.append(later[0] - healed)
                        break
                    await asyncio.sleep(0.02)
                else:
                    recoveries.append(float("inf"))
                await asyncio.sleep(1.0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await source.close()
            proxy.close()
    if not args.outages:
        result.update(db_outages=0)
        return
    result.update(
        db_outages=args.outages,
        db_polls_during_outages_min=min(polls_during) if polls_during else 0,
        db_states_seen=states,
        db_recovery_p50_s=round(percentile(recoveries, 50), 3),
        db_recovery_p99_s=round(percentile(recoveries, 99), 3),
        db_retry_interval_s=args.db_retry_cap,
    )


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"bench": "soak"}
    with tempfile.TemporaryDirectory(prefix="postaltop-soak-") as tmp:
        await asyncio.gather(ssh_soak(args, Path(tmp), result), db_soak(args, result))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100, help="sshd kills (default 100)")
    parser.add_argument("--outages", type=int, default=20, help="database outages (default 20)")
    parser.add_argument("--rate", type=float, default=400.0, help="log lines per second written")
    parser.add_argument("--retry-cap", type=float, default=1.0, help="SSH reconnect backoff cap, seconds")
    parser.add_argument("--db-retry-cap", type=float, default=2.0, help="database backoff cap, seconds")
    parser.add_argument("--outage-seconds", type=float, default=4.0, help="length of each database outage")
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(main_async(args))
    result["seconds"] = round(time.monotonic() - started, 1)
    ssh_ok = result["lines_lost"] == 0 and result["lines_duplicated"] == 0
    p99 = max(result.get("ssh_recovery_p99_s", 0.0), 0.0)
    result["ssh_recovery_ratio"] = round(p99 / args.retry_cap, 3)
    if "db_recovery_p99_s" in result:
        result["db_recovery_ratio"] = round(result["db_recovery_p99_s"] / args.db_retry_cap, 3)
    result["target"] = "0 lost, 0 duplicated, recovery p99 <= one retry interval (ratio <= 1)"
    result["ok"] = bool(
        ssh_ok and result["ssh_recovery_ratio"] <= 1.0 and result.get("db_recovery_ratio", 0.0) <= 1.0
    )
    for key, value in result.items():
        log(f"{key}: {value}")
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
