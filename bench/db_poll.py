"""Benchmark: one database poll cycle of postaltop against a realistic Postal dataset.

Builds 20 servers with 1,000,000 ``messages`` rows in total (4 weeks of seasonal traffic, with deliveries,
stats and queues), then runs >= 50 poll cycles, inserting new messages and deliveries on every server
between cycles (untimed). Reports p50/p95 of the cycle time. The ceiling is the same number of ``SELECT 1``
round trips as one cycle issues, sent the same way (main-DB ones in sequence, per-server ones concurrently
on the same pool), timed in the same run. Creates and drops its own ``pt_*`` databases.

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

from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import add_traffic, bench_layout, build

TARGET_P95_MS = 50.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


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
        await source.connect()
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
                result = await source.poll_once()
                if result.errors:
                    raise SystemExit(f"poll errors: {result.errors}")
                cycle_times.append(result.duration)
                queries = result.queries
                # Main DB: servers + queue (+ discovery on its interval); the rest are per-server.
                main = 2
                per = (queries - main) // args.servers
                ceiling_times.append(await ceiling_cycle(source, main, [per] * args.servers))
                started = time.perf_counter()
                for _ in range(queries):
                    await source.round_trip()
                sequential_times.append(time.perf_counter() - started)
                if cycle % 10 == 0:
                    log(f"cycle {cycle}: {result.duration * 1000:.1f} ms, {queries} queries")
        finally:
            await source.close()
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, few cycles")
    parser.add_argument("--servers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages rows in total")
    parser.add_argument("--cycles", type=int, default=60)
    parser.add_argument("--new-rows", type=int, default=25, help="messages added per server between cycles")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.messages, args.cycles, args.new_rows = 4, 8_000, 10, 5
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
