"""Benchmark the ingest path: scan + LogStore.append_batch + fact extraction.

Generates realistic Postal v3 lines in memory (an SMTP conversation, worker dequeue/sender lines,
web requests; ~150-250 bytes; SGR codes on SMTP traffic lines as Postal writes them), then
measures in the same run:

* ceiling: a bare loop applying one compiled regex per line that captures (time, severity, rest);
* value: parse and index (``Ingestor.feed`` without fact extraction: scan + ``LogStore.append_batch``)
  over the same lines in batches of ~1,000 per (host, component) stream;
* with_facts_*: the full path including typed-fact extraction (what metrics and detection see),
  and retained bytes per line vs the mean raw line length.

Times are process CPU time (best of interleaved rounds), so other load on a shared 2-core
machine distorts the ratio less than wall-clock time would.

Usage: ``python bench/ingest.py [--quick] [--lines N]``; prints one JSON line last on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # runnable from a checkout

from postaltop.core.ingest import Ingestor
from postaltop.core.logstore import LogStore

BATCH = 1000
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


def run_ceiling(all_lines: list[bytes]) -> float:
    """CPU seconds for one compiled regex per line capturing (time, severity, rest)."""
    match = CEILING.match
    t0 = time.process_time()
    for line in all_lines:
        m = match(line)
        if m is not None:
            m.groups()
    return time.process_time() - t0


def run_ingest(work: list[tuple[str, list[bytes]]], facts: bool) -> tuple[float, LogStore, int]:
    """Seconds for the full ingest path; also the store and the number of facts."""
    total = sum(len(b) for _, b in work)
    store = LogStore(capacity=max(total, 1))
    ing = Ingestor(store, facts=facts)
    nfacts = 0
    t0 = time.process_time()
    for comp, batch in work:
        nfacts += len(ing.feed("mx1", comp, batch, received_at=1_777_360_000.0).facts)
    nfacts += len(ing.flush())
    return time.process_time() - t0, store, nfacts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="20,000 lines")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = 20_000 if args.quick else args.lines
    print(f"generating {n:,} lines ...", file=sys.stderr)
    streams = generate(n)
    work = batches(streams)
    all_lines = [line for _, b in work for line in b]
    count = len(all_lines)
    mean_len = sum(map(len, all_lines)) / count
    gc.collect()
    gc.disable()  # the store holds few objects; keep the collector out of the timings
    ceiling_s = ingest_s = scan_s = float("inf")
    nfacts = 0
    store = LogStore()
    try:
        # interleaved rounds, best of each: other load on a shared machine hits all three alike
        for round_no in range(args.repeat):
            ceiling_s = min(ceiling_s, run_ceiling(all_lines))
            seconds, _, nfacts = run_ingest(work, True)
            ingest_s = min(ingest_s, seconds)
            seconds, store, _ = run_ingest(work, False)
            scan_s = min(scan_s, seconds)
            print(
                f"round {round_no + 1}: ceiling {count / ceiling_s:,.0f}, ingest {count / ingest_s:,.0f}"
                f" ({nfacts:,} facts), without facts {count / scan_s:,.0f} lines/s (CPU time)",
                file=sys.stderr,
            )
    finally:
        gc.enable()
    # The issue defines this benchmark as "parse and index" (what the log panel needs): that is the
    # headline figure. Fact extraction feeds metrics and detection; its cost is reported beside it.
    value = count / scan_s
    ceiling = count / ceiling_s
    result = {
        "bench": "ingest",
        "value": round(value),
        "unit": "lines/s",
        "ceiling": round(ceiling),
        "ratio": round(value / ceiling, 3),
        "target": 0.4,
        "lines": count,
        "batch": BATCH,
        "with_facts_value": round(count / ingest_s),
        "with_facts_ratio": round(count / ingest_s / ceiling, 3),
        "facts": nfacts,
        "retained_bytes_per_line": round(store.nbytes() / len(store), 1),
        "mean_raw_line_bytes": round(mean_len, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
