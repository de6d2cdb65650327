"""Benchmark ingest as the app runs it: files read in 256 KiB chunks, split, queued, Engine.run.

Generates realistic Postal v3 lines (an SMTP conversation, worker dequeue/sender lines, web
requests; ~150-250 bytes; SGR codes on SMTP traffic lines as Postal writes them), one file per
component as the app reads one stream per container, then measures in the same run:

* value (the headline): the production path in a fresh process, GC on: each file read in 256 KiB
  chunks and split by ``LineSplitter`` (as the SSH source does), ``Engine.submit`` per chunk,
  ``Engine.run`` with its own pieces (up to 4,096 lines), the detection ``Monitor`` attached as the TUI does
  (it asks the facts it reads: AUTH failures). Process CPU seconds from the first read to the drained
  queue; lines/s.
* ceiling: a bare loop applying one compiled regex per line that captures (time, severity, rest),
  over the same lines in memory (no reading or splitting);
* lnav (when installed): ``lnav -n -c ';SELECT count(*) FROM all_logs' FILES`` loading the same
  files (it recognises every line as ``generic_log``); its CPU seconds (user + sys) and wall time;
* every_fact_*: the same production path with a listener that builds every fact (what ``watch``
  does for its ``/metrics`` fact counters);
* scan_only_* (idealised, not a production mode): fact extraction off.

Each child reports its peak RSS and the RSS it added over its start (interpreter and imports),
divided by the raw bytes, and the store's own bytes per line.

Times are CPU seconds (median of interleaved rounds) because on a shared 2-core machine other
load distorts CPU time less than wall-clock time; wall times are reported beside them.

Usage: ``python bench/ingest.py [--quick] [--lines N] [--repeat R]``; prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/memory.py, also when a test loads this file

from memory import peak_rss_mb, rss_mb

BATCH = 1000
READ_CHUNK = 256 * 1024
READ_AHEAD = 4
"""Chunks queued ahead of ingest (a full queue for a second would make the engine sample)."""
E = "\x1b"


def _id(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(n))


def _stamp(t: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(t))


def _smtp(rng: random.Random, t: int) -> list[str]:
    tr = _id(rng)
    tags = f" trace_id={tr} component=smtp-server"
    ip = f"203.0.113.{rng.randint(1, 254)}"
    rcpt = f"firstname.lastname{rng.randint(1, 99999)}@customer-domain-{rng.randint(1, 50)}.example.com"
    org = rng.choice(["acme/transactional", "globex/newsletters", "initech/alerts"])
    ts = _stamp(t)
    if rng.random() < 0.05:
        return [
            f"{ts} DEBUG  Client identified as {ip}{tags}",
            f"{ts} DEBUG  {E}[32m<= EHLO relay-{rng.randint(1, 999)}.bad.example{E}[0m{tags}",
            f"{ts} DEBUG  {E}[32m<= AUTH PLAIN [redacted]{E}[0m{tags}",
            f"{ts} WARN   Authentication failure for {ip}{tags}",
            f"{ts} DEBUG  {E}[34m=> 535 Invalid credential{E}[0m{tags}",
            f"{ts} DEBUG  Connection closed{tags}",
        ]
    return [
        f"{ts} DEBUG  Client identified as {ip}{tags}",
        f"{ts} DEBUG  {E}[34m=> 220 mx.postal.example ESMTP Postal/{tr}{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= EHLO mail-{rng.randint(1, 99)}.outbound.customer-app.example.com{E}[0m{tags}",
        f"{ts} DEBUG  {E}[34m=> 250-mx1.postal.example.com Hello mail.customer-app.example.com{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= AUTH PLAIN [redacted]{E}[0m{tags}",
        f"{ts} DEBUG  {E}[34m=> 235 Granted for {org}{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= MAIL FROM:<notifications-noreply@mail.customer-app.example.com>{E}[0m{tags}",
        f"{ts} DEBUG  {E}[34m=> 250 OK{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= RCPT TO:<{rcpt}>{E}[0m{tags}",
        f"{ts} DEBUG  Added external address '{rcpt}'{tags}",
        f"{ts} DEBUG  {E}[34m=> 250 OK{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= DATA{E}[0m{tags}",
        f"{ts} DEBUG  {E}[34m=> 354 Go ahead - end data with <CR><LF>.<CR><LF>{E}[0m{tags}",
        f"{ts} DEBUG  {E}[34m=> 250 OK{E}[0m{tags}",
        f"{ts} DEBUG  {E}[32m<= QUIT{E}[0m{tags}",
        f"{ts} DEBUG  Connection closed{tags}",
    ]


def _worker(rng: random.Random, t: int) -> list[str]:
    q = rng.randint(80000, 990000)
    lid = _id(rng)
    grp = f" component=worker thread=work{rng.randint(0, 3)} original_queued_message={q}"
    qtags = f"{grp} queued_message={q}"
    rcpt = f"firstname.lastname{rng.randint(1, 99999)}@customer-domain-{rng.randint(1, 50)}.example.com"
    mx = f"192.0.2.{rng.randint(1, 254)}"
    ts = _stamp(t)
    head = [
        f"{ts} INFO   starting message unqueue{grp}",
        f"{ts} INFO   queue latency is {rng.random() * 5:.15f}s{grp}",
    ]
    r = rng.random()
    if r < 0.04:
        return [*head, f"{ts} INFO   server send limit has been exceeded, holding send_limit=500{qtags}"]
    if r < 0.10:
        return [
            *head,
            f"{ts} INFO   Connected to {mx}:25 (mx{rng.randint(1, 9)}.example.net) log_id={lid}{qtags}",
            f"{ts} INFO   Sending message 3::{rng.randint(1, 9999999)} to {rcpt} log_id={lid}{qtags}",
            f"{ts} ERROR  Net::SMTPServerBusy: 421 4.7.0 Try again later, closing connection."
            f" log_id={lid}{qtags}",
            f"{ts} INFO   message requeued for trying later retry_after={_stamp(t + 390)[:19]} UTC{qtags}",
            f"{ts} INFO   finished message unqueue{grp}",
        ]
    return [
        *head,
        f"{ts} INFO   Connected to {mx}:25 (mx{rng.randint(1, 9)}.example.net) log_id={lid}{qtags}",
        f"{ts} INFO   Sending message 3::{rng.randint(1, 9999999)} to {rcpt} log_id={lid}{qtags}",
        f"{ts} INFO   Accepted by {mx}:25 (mx{rng.randint(1, 9)}.example.net) for {rcpt} log_id={lid}{qtags}",
        f"{ts} INFO   message processing complete{qtags}",
        f"{ts} INFO   finished message unqueue{grp}",
    ]


def _web(rng: random.Random, t: int) -> list[str]:
    path = rng.choice(
        ["/org/acme/servers/transactional", "/org/acme/servers/transactional/messages", "/login"]
    )
    return [
        f"{_stamp(t)} INFO   GET {path} (200) event=request transaction={_id(rng, 20).lower()} "
        f"controller=ServersController action=show format=html method=GET path={path} "
        f"request_id=6b1f0d4e-2c8a-4e71-9d3b-{_id(rng, 12).lower()} ip_address=192.0.2.{rng.randint(1, 254)} "
        f"status=200 view_runtime={rng.random() * 80:.1f} db_runtime={rng.random() * 10:.1f}"
    ]


def generate(n: int, seed: int = 7) -> dict[str, list[bytes]]:
    """About ``n`` lines split by component (smtp ~50 %, worker ~40 %, web ~10 %)."""
    rng = random.Random(seed)
    streams: dict[str, list[bytes]] = {"smtp": [], "worker": [], "web": []}
    t = 1_777_360_000
    total = 0
    while total < n:
        t += rng.choice((0, 0, 1))
        which = rng.random()
        comp, lines = (
            ("smtp", _smtp(rng, t))
            if which < 0.4
            else ("worker", _worker(rng, t))
            if which < 0.88
            else ("web", _web(rng, t))
        )
        streams[comp].extend(s.encode() for s in lines)
        total += len(lines)
    return streams


def batches(streams: dict[str, list[bytes]]) -> list[tuple[str, list[bytes]]]:
    """Round-robin batches of ~BATCH lines per stream, as the sources deliver them."""
    out: list[tuple[str, list[bytes]]] = []
    pos = dict.fromkeys(streams, 0)
    while any(pos[c] < len(streams[c]) for c in streams):
        for comp, lines in streams.items():
            if pos[comp] < len(lines):
                out.append((comp, lines[pos[comp] : pos[comp] + BATCH]))
                pos[comp] += BATCH
    return out


CEILING = re.compile(rb"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) (\w+) +(.*)")
MODES = ("app", "every_fact", "scan_only")


def run_ceiling(all_lines: list[bytes]) -> float:
    """CPU seconds for one compiled regex per line capturing (time, severity, rest)."""
    match = CEILING.match
    t0 = time.process_time()
    for line in all_lines:
        m = match(line)
        if m is not None:
            m.groups()
    return time.process_time() - t0


async def _load(engine: object, files: list[Path]) -> None:
    """Read the files round-robin in chunks, as one SSH stream per component delivers them."""
    from postaltop.core.linesplit import LineSplitter
    from postaltop.engine import Engine

    assert isinstance(engine, Engine)
    runner = asyncio.ensure_future(engine.run())
    handles = [(path.stem, path.open("rb"), LineSplitter()) for path in files]
    try:
        while handles:
            for item in list(handles):
                component, fh, splitter = item
                chunk = fh.read(READ_CHUNK)
                if not chunk:
                    tail = splitter.flush()
                    if tail is not None:
                        await engine.submit("mx1", component, [tail])
                    fh.close()
                    handles.remove(item)
                    continue
                lines = splitter.feed(chunk)
                while engine.pending >= READ_AHEAD:
                    await asyncio.sleep(0)  # read no further ahead than a source would: every line retained
                if lines:
                    await engine.submit("mx1", component, lines)
        await engine.drain()
    finally:
        runner.cancel()
        for _, fh, _ in handles:
            fh.close()


def child(mode: str, files: list[Path]) -> dict[str, float]:
    """One production-path run in this (fresh) process; the figures as a dict."""
    from postaltop.core.facts import Fact
    from postaltop.core.ingest import IngestResult
    from postaltop.engine import Engine
    from postaltop.monitoring import Monitor

    gc.collect()
    base = rss_mb()
    total = 0
    for path in files:
        with path.open("rb") as fh:
            total += sum(block.count(b"\n") for block in iter(lambda fh=fh: fh.read(1 << 20), b""))
    engine = Engine(retained_lines=max(1_000_000, total))  # the app's default, or every line here
    built: list[int] = [0]
    if mode == "app":
        Monitor().attach(engine)
    elif mode == "every_fact":

        def build_all(result: IngestResult) -> None:
            built[0] += len(result.facts)

        engine.on_facts(build_all)
    else:
        engine.ingestor._extract = False  # idealised: no fact extraction at all
    monitor_probe: list[Fact] = []
    engine.on_facts(lambda r: monitor_probe.clear())  # a second listener, as the UI has several
    wall0, cpu0 = time.perf_counter(), time.process_time()
    asyncio.run(_load(engine, files))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    engine.ingestor.flush()
    store = engine.store
    raw = sum(p.stat().st_size for p in files)
    peak = peak_rss_mb()
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "lines": engine.stats.ingested,
        "facts_built": built[0],
        "store_bytes_per_line": store.nbytes() / max(len(store), 1),
        "raw_bytes": raw,
        "peak_rss_mb": peak,
        "added_rss_ratio": (peak - base) * 2**20 / raw,
        "gc_enabled": gc.isenabled(),
        "retained": len(store),
    }


def run_child(mode: str, files: list[Path]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *map(str, files)],
        capture_output=True, text=True, check=True, timeout=900,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_lnav(lnav: str, files: list[Path], expected: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of lnav loading and indexing the files headless."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [lnav, "-n", "-c", ";SELECT count(*) FROM all_logs", *map(str, files)],
        capture_output=True, text=True, check=True, timeout=600,
        env={**os.environ, "HOME": tempfile.gettempdir()},
    )  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    counted = [int(w) for w in out.stdout.split() if w.isdigit()]
    if counted != [expected]:
        raise SystemExit(f"lnav counted {counted}, expected {expected}: {out.stdout!r} {out.stderr!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 lines")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], [Path(p) for p in args.child[1:]])))
        return
    n = 20_000 if args.quick else args.lines
    print(f"generating {n:,} lines ...", file=sys.stderr)
    streams = generate(n)
    all_lines = [line for _, b in batches(streams) for line in b]
    count = len(all_lines)
    lnav = shutil.which("lnav")
    with tempfile.TemporaryDirectory(prefix="postaltop-ingest-") as tmp:
        files = []
        for component, lines in streams.items():
            path = Path(tmp) / f"{component}.log"
            path.write_bytes(b"\n".join(lines) + b"\n")
            files.append(path)
        del streams
        ceil_s: list[float] = []
        runs: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
        lnav_cpu: list[float] = []
        lnav_wall: list[float] = []
        for round_no in range(args.repeat):
            ceil_s.append(run_ceiling(all_lines))
            for mode in MODES:
                runs[mode].append(run_child(mode, files))
            if lnav:
                cpu, wall = run_lnav(lnav, files, count)
                lnav_cpu.append(cpu)
                lnav_wall.append(wall)
            app = runs["app"][-1]
            print(
                f"round {round_no + 1}: ceiling {count / ceil_s[-1]:,.0f}, app {count / app['cpu_s']:,.0f}"
                f" (wall {count / app['wall_s']:,.0f}),"
                f" every fact {count / runs['every_fact'][-1]['cpu_s']:,.0f},"
                f" scan only {count / runs['scan_only'][-1]['cpu_s']:,.0f}"
                + (f", lnav {count / lnav_cpu[-1]:,.0f} (wall {count / lnav_wall[-1]:,.0f})" if lnav else "")
                + " lines/s (CPU time)",
                file=sys.stderr,
            )
    for mode in MODES:
        if any(r["lines"] != count or r["retained"] != count for r in runs[mode]):
            raise SystemExit(f"{mode}: not every line was ingested and retained: {runs[mode]}")

    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[mode])

    ceiling = count / statistics.median(ceil_s)
    value = count / med("app", "cpu_s")
    result: dict[str, object] = {
        "bench": "ingest",
        "value": round(value),
        "unit": "lines/s",
        "ceiling": round(ceiling),
        "ratio": round(value / ceiling, 3),
        "target": 0.4,
        "path": "files, LineSplitter, Engine.submit, Engine.run (4,096-line pieces), Monitor, GC on",
        "lines": count,
        "rounds": args.repeat,
        "value_wall": round(count / med("app", "wall_s")),
        "every_fact_value": round(count / med("every_fact", "cpu_s")),
        "every_fact_ratio": round(count / med("every_fact", "cpu_s") / ceiling, 3),
        "facts": round(med("every_fact", "facts_built")),
        "scan_only_value_idealised": round(count / med("scan_only", "cpu_s")),
        "store_bytes_per_line": round(med("app", "store_bytes_per_line"), 1),
        "mean_raw_line_bytes": round(runs["app"][0]["raw_bytes"] / count - 1, 1),
        "peak_rss_mb": round(med("app", "peak_rss_mb"), 1),
        "added_rss_ratio": round(med("app", "added_rss_ratio"), 2),
        "every_fact_added_rss_ratio": round(med("every_fact", "added_rss_ratio"), 2),
        "load_average": round(os.getloadavg()[0], 2),
    }
    if lnav:
        lnav_value = count / statistics.median(lnav_cpu)
        result.update(
            lnav_value=round(lnav_value),
            lnav_ratio=round(value / lnav_value, 3),
            lnav_target=1.0,
            lnav_value_wall=round(count / statistics.median(lnav_wall)),
            lnav_ratio_wall=round(count / med("app", "wall_s") / (count / statistics.median(lnav_wall)), 3),
            every_fact_lnav_ratio=round(count / med("every_fact", "cpu_s") / lnav_value, 3),
        )
    result["targets_met"] = value / ceiling >= 0.4 and (
        not lnav or value / (count / statistics.median(lnav_cpu)) >= 1.0
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
