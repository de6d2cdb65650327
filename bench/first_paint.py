"""Benchmark: first paint of the real app in a pseudo-terminal, from process start.

Each run starts a fresh ``python -m postaltop …`` process on a 160x45 pseudo-terminal (as a person
starts it in a terminal) and reads what it draws. Measured, from the moment before the process is
spawned:

* ``chrome``: the first frame that shows the app's frame (the filter bar's ``filter /`` prompt);
* ``data``: the first frame that shows a log line (a ``HH:MM:SS`` time followed by a host name).

Modes: ``demo`` (``postaltop demo``) and ``live`` (the monitor with one ``[[hosts]]`` entry pointing at
a real sshd on loopback with the ``docker`` shim of the tests, so lines come over SSH, and a ``[database]``
on the test MariaDB holding a freshly built Postal dataset; without a reachable MariaDB the live config has
the host only, and the JSON says so).

``ceiling``: a bare Textual app (one ``Static`` and a ``Footer``) on the same pseudo-terminal, started
the same way in the same run: what process start, imports and Textual's own first frame cost here.
Each mode runs once first, uncounted, so that modules load from bytecode as in an installed package (the
bench writes it under a temporary ``PYTHONPYCACHEPREFIX``). Medians and p90 over ``--runs`` runs.
The headline ``value`` is the demo's median time to chrome; ``target`` is the issue's 1.0 s, which the median
and the p90 of both modes must meet (``meets_target``). ``ratio`` (``live_ratio`` for the live config) is the
median against the bare app's in the same run, the figure to compare across loads; :data:`RATIO_TARGET` is the
team's stricter aim of a frame as early as Textual's own (``ratio_target_met``), printed but not the target.
Usage: ``python bench/first_paint.py [--runs N] [--quick]``; progress on stderr, the last stdout line is
the JSON result.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import percentile  # noqa: E402

from tests.support import mysql  # noqa: E402
from tests.support.sshd import SshdServer, start_sshd  # noqa: E402

TARGET_S = 1.0
RATIO_TARGET = 1.1
COLUMNS, ROWS = 160, 45
TIMEOUT_S = 30.0
CHROME = re.compile(rb"filter /")
LOG_ROW = re.compile(rb"\d\d:\d\d:\d\d(?:\x1b\[[0-9;]*m)*[ \xe2\x86\x91](?:\x1b\[[0-9;]*m)*mx\d")
BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    def compose(self):
        yield Static("filter / bare")
        yield Footer()

Bare().run()
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_run(argv: list[str], env: dict[str, str], want_data: bool) -> tuple[float, float | None]:
    """Spawn ``argv`` on a pty; seconds until the chrome, and until the first log row (if wanted)."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    chrome: float | None = None
    data: float | None = None
    seen = b""
    try:
        while time.perf_counter() - started < TIMEOUT_S:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            seen = seen[-4096:] + chunk
            now = time.perf_counter() - started
            if chrome is None and CHROME.search(seen):
                chrome = now
            if want_data and data is None and LOG_ROW.search(seen):
                data = now
            if chrome is not None and (data is not None or not want_data):
                break
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            with contextlib.suppress(OSError):
                os.read(fd, 1 << 16)  # keep draining so the child can exit
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    if chrome is None:
        raise SystemExit(f"no frame within {TIMEOUT_S:.0f}s from {argv[2:]}; last output: {seen[-300:]!r}")
    return chrome, data


def live_config(root: Path, sshd: SshdServer, database: str | None) -> Path:
    """A config with one host on the test sshd (whose ``docker`` shim streams a Postal log) and, when
    ``database`` is given, that Postal dataset on the test MariaDB."""
    sshd.add_container(
        "postal-smtp-1", "smtp", rate=200, count=None, start_ns=time.time_ns() - 60 * 1_000_000_000
    )
    text = (
        "[[hosts]]\n"
        f'name = "mx1"\naddress = "127.0.0.1"\nport = {sshd.port}\nuser = "{sshd.user}"\n'
        f'key_file = "{sshd.client_key}"\nsince = "1m"\n'
        f'[ssh]\nknown_hosts = ["{sshd.known_hosts}"]\nssh_config = []\n'
    )
    if database is not None:
        target = mysql.target_from_env()
        text += (
            f'[database]\nhost = "{target.host}"\nport = {target.port}\nuser = "{target.user}"\n'
            f'use_my_cnf = false\ndatabase = "{database}"\nmessage_db_prefix = "{database}"\n'
        )
    config = root / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    return config


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "p90": round(percentile(values, 90), 3)}


def bench_env(root: Path) -> dict[str, str]:
    """The children's environment: this checkout first, private XDG directories, and bytecode kept under
    ``root`` so that modules load from it as in an installed package (an uncounted warm-up run writes it)."""
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_STATE_HOME": str(root / "state"),
        "PYTHONPYCACHEPREFIX": str(root / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@contextlib.contextmanager
def live_setup(root: Path) -> Iterator[tuple[Path, str | None]]:
    """The live config (a host on a fresh sshd, and a built dataset on the test MariaDB when it is reachable)
    and the dataset's prefix (None without a database)."""
    target = mysql.target_from_env()
    db_problem = mysql.reachable(target)
    with contextlib.ExitStack() as stack:
        database = None
        if db_problem is None:
            database = stack.enter_context(mysql.built_dataset(target, weeks=1)).prefix
        else:
            log(f"live config without a database: {db_problem}")
        sshd = start_sshd(root / "sshd")
        stack.callback(sshd.kill)
        yield live_config(root, sshd, database), database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="3 runs per mode")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="postaltop-bench-paint-") as tmp:
        root = Path(tmp)
        with live_setup(root) as (config, database):
            chrome, data = measure(runs, bench_env(root), config)
    value = statistics.median(chrome["demo"])
    ceiling = statistics.median(chrome["bare"])
    live = statistics.median(chrome["live"])
    result = {
        "bench": "first_paint",
        "value": round(value, 3),
        "unit": "s",
        "ceiling": round(ceiling, 3),
        "ratio": round(value / ceiling, 3),
        "live_ratio": round(live / ceiling, 3),
        "target": TARGET_S,
        "ratio_target": RATIO_TARGET,
        "runs": runs,
        "terminal": f"{COLUMNS}x{ROWS}",
        "live_database": database is not None,
        "bare_chrome": summary(chrome["bare"]),
        "demo_chrome": summary(chrome["demo"]),
        "demo_first_line": summary(data["demo"]) if data["demo"] else None,
        "live_chrome": summary(chrome["live"]),
        "live_first_line": summary(data["live"]) if data["live"] else None,
        "meets_target": max(percentile(chrome[m], q) for m in ("demo", "live") for q in (50, 90)) <= TARGET_S,
        "ratio_target_met": max(value, live) / ceiling <= RATIO_TARGET,
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))


def measure(
    runs: int, env: dict[str, str], config: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time to chrome and to the first line of each mode, ``runs`` times, interleaved."""
    commands = {
        "bare": ([sys.executable, "-c", BARE_APP], False),
        "demo": ([sys.executable, "-m", "postaltop", "demo"], True),
        "live": ([sys.executable, "-m", "postaltop", "--config", str(config)], True),
    }
    chrome: dict[str, list[float]] = {k: [] for k in commands}
    data: dict[str, list[float]] = {k: [] for k in commands}
    for argv, want_data in commands.values():
        timed_run(argv, env, want_data)  # warm-up: bytecode and page cache
    for run in range(runs):
        for name, (argv, want_data) in commands.items():
            c, d = timed_run(argv, env, want_data)
            chrome[name].append(c)
            if d is not None:
                data[name].append(d)
            log(f"run {run + 1} {name}: chrome {c:.3f}s" + (f", first line {d:.3f}s" if d else ""))
    return chrome, data


if __name__ == "__main__":
    main()
