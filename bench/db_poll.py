"""Benchmark: one database poll cycle of postaltop against a realistic Postal dataset.

Builds 20 servers with 1,000,000 ``messages`` rows in total (4 weeks of seasonal traffic, with deliveries,
stats and queues), then runs >= 50 poll cycles, inserting new messages and deliveries on every server
between cycles (untimed). Reports p50/p95 of the cycle time. The ceiling is the same number of ``SELECT 1``
round trips as one cycle issues, sent the same way, timed in the same run. Creates and drops its own
``pt_*`` databases.

A cycle of the merged poll is: servers; then the queue and the merged scalars of every message database
concurrently; then the merged id windows (``UNION ALL``). Its ceiling sends ``SELECT 1`` in the same shape.
``--one-by-one`` measures the previous shape instead (three statements per server, concurrently on the
pool), with its ceiling in that shape.

    python bench/db_poll.py            # full size
    python bench/db_poll.py --quick    # 4 servers, ~8,000 messages (seconds)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import percentile
from memory import peak_rss_mb

from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import add_traffic, bench_layout, build

TARGET_P95_MS = 50.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def merged_ceiling_cycle(source: PostalDbSource, queries: int) -> float:
    """The merged cycle as ``SELECT 1`` round trips: one, two concurrently, then the rest in sequence."""
    started = time.perf_counter()
    await source.round_trip()
    await asyncio.gather(source.round_trip(), source.round_trip())
    for _ in range(max(0, queries - 3)):
        await source.round_trip()
    return time.perf_counter() - started


async def ceiling_cycle(source: PostalDbSource, main_queries: int, per_server: list[int]) -> float:
    """A cycle's round trips as ``SELECT 1``: main ones in sequence, per-server ones concurrently."""

    async def server(n: int) -> None:
        for _ in range(n):
            await source.round_trip()

    started = time.perf_counter()
    for _ in range(main_queries):
        await source.round_trip()
    await asyncio.gather(*(server(n) for n in per_server))
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> dict[str, object]:
    target = mysql.target_from_env()
    problem = mysql.reachable(target)
    if problem:
        raise SystemExit(problem)
    with mysql.prefix_scope(target) as prefix:
        conn = mysql.connect(target)
        log(f"building {args.servers} servers x {args.messages // args.servers} messages in {prefix} ...")
        data = build(conn, prefix, layout=bench_layout(args.servers, args.messages // args.servers), seed=11)
        log(f"built {data.messages} messages, {data.deliveries} deliveries in {data.seconds:.1f} s")
        source = PostalDbSource(mysql.database_config(target, prefix, query_timeout=10.0), environ={})
        source.merge_queries = not args.one_by_one
        await source.connect()
        reference: PostalDbSource | None = None
        reference_times: list[float] = []
        reference_queries = 0
        if args.compare:
            # The one-by-one shape on the same data in the same run, polled right after (same new rows).
            reference = PostalDbSource(mysql.database_config(target, prefix, query_timeout=10.0), environ={})
            reference.merge_queries = False
            await reference.connect()
            await reference.poll_once()
        try:
            await source.poll_once()  # seeds the windows; not timed
            cycle_times: list[float] = []
            ceiling_times: list[float] = []
            sequential_times: list[float] = []
            queries = 0
            for cycle in range(args.cycles):
                for sid in range(1, args.servers + 1):
                    add_traffic(conn, prefix, sid, [
                        ("outgoing", 1, f"r{cycle}.{i}@gmail.com", "Sent" if i % 5 else "SoftFail", 0)
                        for i in range(args.new_rows)
                    ])  # fmt: skip
                if reference is not None and cycle % 2:
                    reference_times.append((await reference.poll_once()).duration)
                result = await source.poll_once()
                if reference is not None and not cycle % 2:
                    other = await reference.poll_once()
                    reference_times.append(other.duration)
                    reference_queries = other.queries
                if result.errors:
                    raise SystemExit(f"poll errors: {result.errors}")
                cycle_times.append(result.duration)
                queries = result.queries
                if args.one_by_one:
                    # Main DB: servers + queue (+ discovery on its interval); the rest are per-server.
                    main = 2
                    per = (queries - main) // args.servers
                    ceiling_times.append(await ceiling_cycle(source, main, [per] * args.servers))
                else:
                    ceiling_times.append(await merged_ceiling_cycle(source, queries))
                started = time.perf_counter()
                for _ in range(queries):
                    await source.round_trip()
                sequential_times.append(time.perf_counter() - started)
                if cycle % 10 == 0:
                    log(f"cycle {cycle}: {result.duration * 1000:.1f} ms, {queries} queries")
        finally:
            await source.close()
            if reference is not None:
                await reference.close()
            conn.close()
    p50, p95 = percentile(cycle_times, 50) * 1000, percentile(cycle_times, 95) * 1000
    c50, c95 = percentile(ceiling_times, 50) * 1000, percentile(ceiling_times, 95) * 1000
    return {
        "bench": "db_poll",
        "value": round(p95, 2),
        "unit": "ms (p95 poll cycle)",
        "ceiling": round(c95, 2),
        "ratio": round(p95 / c95, 2) if c95 else None,
        "target": TARGET_P95_MS,
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.fmean(cycle_times) * 1000, 2),
        "ceiling_p50_ms": round(c50, 2),
        "ceiling_sequential_p50_ms": round(percentile(sequential_times, 50) * 1000, 2),
        "queries_per_cycle": queries,
        "cycles": args.cycles,
        "servers": args.servers,
        "messages": data.messages,
        "deliveries": data.deliveries,
        "new_messages_per_server_per_cycle": args.new_rows,
        "build_seconds": round(data.seconds, 1),
        "quick": args.quick,
        "shape": "one-by-one" if args.one_by_one else "merged",
        **(
            {
                "one_by_one_p50_ms": round(percentile(reference_times, 50) * 1000, 2),
                "one_by_one_p95_ms": round(percentile(reference_times, 95) * 1000, 2),
                "one_by_one_queries_per_cycle": reference_queries,
            }
            if reference_times
            else {}
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, few cycles")
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages rows in total")
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--one-by-one", action="store_true", help="the previous per-server query shape")
    parser.add_argument("--compare", action="store_true", help="also time the one-by-one shape, same run")
    parser.add_argument("--new-rows", type=int, default=25, help="messages added per server between cycles")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.messages, args.cycles, args.new_rows = 4, 8_000, 10, 5
    result = asyncio.run(run(args))
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
