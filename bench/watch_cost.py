"""Benchmark: what one ``postaltop watch`` instance costs (CPU, memory, connections per Postal host).

The production path and settings: one watch process (``python -m postaltop watch``) for a host group of one
Postal host reached over a real sshd on loopback (its web, smtp and worker containers logging through the
``docker`` shim at ``--rate`` lines/s each), and Postal's MariaDB (a built dataset of ``--servers`` mail
servers) polled every 5 s (the default) through the SSH tunnel of that host; detectors, metrics endpoint
and GC on. After a warm-up, over ``--seconds``, measured from ``/proc``:

* CPU seconds used by the watch process per wall second (``value``, share of one core);
* resident memory at the end and its peak (``VmHWM``);
* TCP connections the process holds, per peer (sshd, MariaDB), and the MariaDB connections the sshd session
  opens on the Postal host's side for the tunnel;
* lines ingested per second, and the series and bytes of one scrape (from its own ``/metrics``).

The last line is JSON: ``value`` (CPU share of one core), ``ceiling`` 1.0 (one whole core, the most one
Python process can use), ``ratio`` (= value / ceiling), ``target`` 0.10.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from tests.support import mysql  # noqa: E402
from tests.support.postal_builder import bench_layout  # noqa: E402
from tests.support.sshd import descendants, free_port, start_sshd  # noqa: E402

TARGET = 0.10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def memory_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def tcp_peers(pid: int) -> dict[int, int]:
    """Established TCP connections of ``pid`` per remote port."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = str(fd.readlink())
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    peers: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes and cols[3] == "01":  # ESTABLISHED
                port = int(cols[2].rsplit(":", 1)[1], 16)
                peers[port] = peers.get(port, 0) + 1
    return peers


def scrape(port: int) -> tuple[float, int, int]:
    """Lines ingested so far, the number of series and the bytes of one /metrics scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read()
    families = list(text_string_to_metric_families(body.decode()))
    lines = sum(
        s.value
        for f in families
        if f.name == "postaltop_lines_ingested"
        for s in f.samples
        if s.name.endswith("_total")
    )
    return lines, sum(len(f.samples) for f in families), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10, help="Postal mail servers in the database")
    parser.add_argument("--messages", type=int, default=5000, help="messages per server (4 weeks)")
    parser.add_argument("--rate", type=float, default=50.0, help="log lines/s per container (3 containers)")
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="4 servers, 10 s warm-up, 20 s window")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.messages, args.warmup, args.seconds = 4, 2000, 10.0, 20.0

    target = mysql.target_from_env()
    problem = mysql.reachable(target)
    if problem:
        raise SystemExit(problem)
    with tempfile.TemporaryDirectory(prefix="watch-cost-") as tmp, mysql.prefix_scope(target) as prefix:
        root = Path(tmp)
        conn = mysql.connect(target)
        try:
            from tests.support.postal_builder import build

            build(conn, prefix, layout=bench_layout(args.servers, args.messages))
        finally:
            conn.close()
        sshd = start_sshd(root / "sshd")
        try:
            for service in ("web", "smtp", "worker"):
                sshd.add_container(f"postal-{service}-1", service, rate=args.rate)
            metrics_port = free_port()
            password = f'password = "{target.password}"\n' if target.password else ""
            config = root / "postaltop.toml"
            config.write_text(
                f'[ssh]\nknown_hosts = ["{sshd.known_hosts}"]\nssh_config = []\n'
                f'[[hosts]]\nname = "mx1"\naddress = "127.0.0.1"\nport = {sshd.port}\nuser = "{sshd.user}"\n'
                f'key_file = "{sshd.client_key}"\nsince = "1m"\n'
                f'[database]\nhost = "127.0.0.1"\nport = {target.port}\nuser = "{target.user}"\n{password}'
                f'use_my_cnf = false\ndatabase = "{prefix}"\nmessage_db_prefix = "{prefix}"\n'
                'ssh_tunnel = "mx1"\n'
            )
            config.chmod(0o600)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
                env[var] = str(root / var.lower())
            log = (root / "watch.log").open("wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "postaltop", "watch", "--config", str(config),
                 "--metrics-address", f"127.0.0.1:{metrics_port}"],
                stdout=subprocess.DEVNULL, stderr=log, env=env,
            )  # fmt: skip
            try:
                time.sleep(args.warmup)
                if proc.poll() is not None:
                    raise SystemExit(f"watch exited: {(root / 'watch.log').read_text()[-2000:]}")
                cpu0, (lines0, _, _), t0 = cpu_seconds(proc.pid), scrape(metrics_port), time.monotonic()
                time.sleep(args.seconds)
                cpu1, (lines1, series, size), t1 = (
                    cpu_seconds(proc.pid),
                    scrape(metrics_port),
                    time.monotonic(),
                )
                memory = memory_kib(proc.pid)
                peers = tcp_peers(proc.pid)
                # the tunnel's database connections are opened by the sshd session on the Postal host's side
                assert sshd.proc is not None
                tunnelled = sum(tcp_peers(pid).get(target.port, 0) for pid in descendants(sshd.proc.pid))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
                log.close()
        finally:
            sshd.kill()
    wall = t1 - t0
    share = (cpu1 - cpu0) / wall
    result = {
        "bench": "watch_cost",
        "metric": "cpu_share_of_one_core",
        "value": round(share, 4),
        "ceiling": 1.0,
        "ratio": round(share, 4),
        "target": TARGET,
        "rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
        "peak_rss_mib": round(memory.get("VmHWM", 0) / 1024, 1),
        "lines_per_s": round((lines1 - lines0) / wall, 1),
        "ssh_connections_to_host": peers.get(sshd.port, 0),
        "direct_db_connections": peers.get(target.port, 0),
        "db_connections_through_tunnel": tunnelled,
        "metrics_series": series,
        "metrics_bytes": size,
        "servers": args.servers,
        "rate_per_container": args.rate,
        "window_s": round(wall, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
