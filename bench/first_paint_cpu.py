"""Benchmark: CPU time to the first frame, the load-independent companion of ``first_paint.py``.

On a loaded machine the wall-clock time to the first frame measures the neighbours. This bench starts the
same processes on the same 160x45 pseudo-terminal (``postaltop demo``, the live config with one host on a
real sshd and a ``[database]``, and the bare Textual app), each through a small wrapper that records, at the
moment the first frame has been drawn (the first callback Textual runs after the first refresh: postaltop's
``PostaltopApp._finish_boot``, the bare app's ``call_after_refresh`` from ``on_mount``):

* ``cpu_s``: the process's own CPU time (user + system, all its threads) since it started;
* ``children_cpu_s``: the CPU time of its children reaped by then (the configuration check's child,
  :mod:`postaltop.preflight`, which runs in parallel with the parent's imports);
* ``wall_s``: the wall-clock time since the wrapper started (noisy under load).

``value`` is the demo's median parent CPU to the frame; ``ceiling`` the bare app's; ``ratio`` their ratio
(``live_ratio`` for the live config). On two idle cores the parent's CPU is the critical path as long as the
child finishes first (``children_cpu_s`` below ``cpu_s``); on a saturated machine the child's CPU competes
and the wall-clock gain shrinks toward ``cpu_s + children_cpu_s``: both are reported.
Usage: ``python bench/first_paint_cpu.py [--runs N] [--quick]``; the last stdout line is the JSON result.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from first_paint import BARE_APP, COLUMNS, ROWS, TIMEOUT_S, bench_env, live_setup, log, summary  # noqa: E402

RECORD = """
import json, os, resource, time
_T0 = time.perf_counter()

def _record():
    out = os.environ.pop("PAINT_CPU_OUT", None)
    if out is None:
        return
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out + ".part", "w") as f:
        json.dump({"cpu_s": own.ru_utime + own.ru_stime, "children_cpu_s": kids.ru_utime + kids.ru_stime,
                   "wall_s": time.perf_counter() - _T0}, f)
    os.rename(out + ".part", out)
"""

APP_WRAPPER = (
    RECORD
    + """
import importlib.abc, importlib.machinery, sys

class _Hook(importlib.abc.MetaPathFinder):
    # Patches PostaltopApp._finish_boot when postaltop.ui.app is first imported (wherever that happens).
    def find_spec(self, name, path, target=None):
        if name != "postaltop.ui.app":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            app = module.PostaltopApp
            finish = app._finish_boot

            def first(self):
                _record()
                return finish(self)

            app._finish_boot = first

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Hook())
sys.argv = ["postaltop", *sys.argv[1:]]
from postaltop.cli import main
raise SystemExit(main())
"""
)

BARE_WRAPPER = RECORD + BARE_APP.replace(
    "        yield Footer()\n",
    "        yield Footer()\n\n    def on_mount(self):\n        self.call_after_refresh(_record)\n",
)


def run_until_record(argv: list[str], env: dict[str, str], out: Path) -> dict[str, float]:
    """Spawn ``argv`` on a 160x45 pty, drain what it draws until it wrote its record, stop it."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not out.exists() and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.02)
            if ready:
                try:
                    if not os.read(fd, 1 << 16):
                        break
                except OSError:
                    break
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    if not out.exists():
        raise SystemExit(f"no record within {TIMEOUT_S:.0f}s from {argv[3:]}")
    record: dict[str, float] = json.loads(out.read_text())
    return record


def measure(runs: int, env: dict[str, str], config: Path, out: Path) -> dict[str, list[dict[str, float]]]:
    """The records of each mode, ``runs`` times, interleaved (after one uncounted warm-up of each)."""
    commands = {
        "bare": [sys.executable, "-c", BARE_WRAPPER],
        "demo": [sys.executable, "-c", APP_WRAPPER, "demo"],
        "live": [sys.executable, "-c", APP_WRAPPER, "--config", str(config)],
    }
    records: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name, argv in commands.items():
            out.unlink(missing_ok=True)
            record = run_until_record(argv, {**env, "PAINT_CPU_OUT": str(out)}, out)
            if run > 0:  # run 0 warms the bytecode and page cache
                records[name].append(record)
                log(f"run {run} {name}: " + ", ".join(f"{k} {v:.3f}" for k, v in record.items()))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="3 runs per mode")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    with tempfile.TemporaryDirectory(prefix="postaltop-bench-paint-cpu-") as tmp:
        root = Path(tmp)
        with live_setup(root) as (config, database):
            records = measure(runs, bench_env(root), config, root / "record.json")

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in records[name])

    value, ceiling, live = med("demo", "cpu_s"), med("bare", "cpu_s"), med("live", "cpu_s")
    result = {
        "bench": "first_paint_cpu",
        "value": round(value, 3),
        "unit": "s CPU",
        "ceiling": round(ceiling, 3),
        "ratio": round(value / ceiling, 3),
        "live_ratio": round(live / ceiling, 3),
        "ratio_target": 1.1,
        "runs": runs,
        "live_database": database is not None,
        **{
            f"{name}_{key}": summary([r[key] for r in records[name]])
            for name in records
            for key in ("cpu_s", "children_cpu_s", "wall_s")
        },
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
