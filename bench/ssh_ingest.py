"""Benchmark: stream Postal log lines over a real SSH connection on loopback.

Starts its own sshd (``tests/support/sshd.py``), writes N realistic ``docker logs --timestamps``
lines to a file, and serves them through the ``docker`` shim (which ``cat``s the file). Measured:

* ``value``: lines/s through postaltop's real streaming path (``HostLogStream``: connect, discover,
  ``docker logs`` channel, 256 KiB reads, ``LineSplitter``, resume tracking, sink);
* ``ingest_value``: the same plus ``Ingestor.feed`` into a ``LogStore`` (parse + retain);
* ``ceiling``: ``ssh -p PORT -i KEY host cat FILE > /dev/null`` of the same file in the same run.

``ratio`` = ceiling time / our time (target 0.6). Medians of several runs. ``--quick``: 50,000 lines.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memory import peak_rss_mb  # noqa: E402

from postaltop.config import HostConfig  # noqa: E402
from postaltop.core.ingest import Ingestor  # noqa: E402
from postaltop.core.logstore import LogStore  # noqa: E402
from postaltop.sources.logs import Backoff, HostLogStream  # noqa: E402
from postaltop.sources.ssh import SshOptions  # noqa: E402
from tests.support.shims import _shimlib  # noqa: E402
from tests.support.sshd import SshdServer, start_sshd  # noqa: E402

TARGET = 0.6


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the JSON result."""
    print(message, file=sys.stderr, flush=True)


def write_log_file(path: Path, lines: int) -> int:
    """Write ``lines`` docker-stamped Postal v3 lines (SMTP and worker mix); return the byte size."""
    start = time.time_ns() - lines * 1_000_000
    specs = [
        {"start_ns": start, "rate": 1e6, "group": 1, "component": comp, "specials": {}, "count": None}
        for comp in ("smtp", "worker")
    ]
    with path.open("wb") as fh:
        batch: list[bytes] = []
        for i in range(lines):
            spec = specs[(i // 7) % 2]
            stamp = _shimlib.rfc3339nano(_shimlib.line_ts_ns(spec, i)).encode()
            batch.append(stamp + b" " + _shimlib.postal_line(spec, i) + b"\n")
            if len(batch) >= 10_000:
                fh.write(b"".join(batch))
                batch.clear()
        fh.write(b"".join(batch))
    return path.stat().st_size


def ceiling_run(sshd: SshdServer, path: Path) -> float:
    """Seconds for plain OpenSSH ``cat`` of the file to /dev/null."""
    started = time.perf_counter()
    subprocess.run(sshd.ssh_command("cat", str(path)), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


async def stream_run(sshd: SshdServer, lines: int, ingest: bool) -> float:
    """Seconds for HostLogStream to deliver every line of the container log (optionally ingesting)."""
    host = HostConfig(
        name="bench",
        address="127.0.0.1",
        port=sshd.port,
        user=sshd.user,
        key_file=sshd.client_key,
        since="1d",
    )
    options = SshOptions(known_hosts=[sshd.known_hosts], ssh_config=[])
    done = asyncio.Event()
    count = 0
    ingestor = Ingestor(LogStore(capacity=max(lines, 1000))) if ingest else None

    async def sink(host_name: str, component: str, batch: list[bytes]) -> None:
        nonlocal count
        if ingestor is not None:
            ingestor.feed(host_name, component, batch, received_at=time.time())
        count += len(batch)
        if count >= lines:
            done.set()

    stream = HostLogStream(host, options, backoff=Backoff(initial=5.0, maximum=5.0), rng=random.Random(0))
    started = time.perf_counter()
    task = asyncio.create_task(stream.run(sink))
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
    finally:
        elapsed = time.perf_counter() - started
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if count != lines:
        raise SystemExit(f"delivered {count} lines, expected {lines}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 lines, one run each")
    parser.add_argument("--lines", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    lines = args.lines or (50_000 if args.quick else 1_000_000)
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="postaltop-bench-ssh-") as tmp:
        root = Path(tmp)
        sshd = start_sshd(root / "sshd")
        try:
            data = root / "postal-smtp-1.log"
            size = write_log_file(data, lines)
            log(f"{lines:,} lines, {size / 1e6:.1f} MB; sshd on port {sshd.port}")
            sshd.add_container("postal-smtp-1", "smtp", file=str(data), running=False)
            ceiling, ours, ingest = [], [], []
            for run in range(runs):
                ceiling.append(ceiling_run(sshd, data))
                ours.append(asyncio.run(stream_run(sshd, lines, ingest=False)))
                log(f"run {run + 1}: ssh cat {ceiling[-1]:.3f}s, stream {ours[-1]:.3f}s")
            # parsing dominates the ingest figure and takes long: one run is enough to show it
            ingest.append(asyncio.run(stream_run(sshd, lines, ingest=True)))
            log(f"stream + Ingestor.feed: {ingest[-1]:.3f}s")
        finally:
            sshd.kill()
    c, o, i = statistics.median(ceiling), statistics.median(ours), statistics.median(ingest)
    result = {
        "bench": "ssh_ingest",
        "value": round(lines / o),
        "unit": "lines/s",
        "ceiling": round(lines / c),
        "ratio": round(c / o, 3),
        "target": TARGET,
        "lines": lines,
        "bytes": size,
        "seconds": round(o, 3),
        "ceiling_seconds": round(c, 3),
        "ingest_value": round(lines / i),
        "ingest_seconds": round(i, 3),
        "ingest_ratio": round(c / i, 3),
        "runs": runs,
        "ceiling_runs": [round(x, 3) for x in ceiling],
        "stream_runs": [round(x, 3) for x in ours],
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
