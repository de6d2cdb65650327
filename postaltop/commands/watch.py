"""``postaltop watch``: headless monitoring with notifications, a Prometheus endpoint and recording."""

from __future__ import annotations

import argparse
from pathlib import Path

from postaltop.cli import DEMO_SPEED_RANGE, Command, _seed, _speed, register_command, scenario_names

SPEED_PRESETS = {"normal": 1.0, "fast": 60.0, "high": 600.0, "max": 3600.0}
"""Named ``--speed`` values (simulated seconds per real second)."""

DEFAULT_METRICS_ADDRESS = "127.0.0.1:9464"


def speed_value(text: str) -> float:
    """A ``--speed`` number (0.1 to 3600) or preset name (normal, fast, high, max)."""
    if text in SPEED_PRESETS:
        return SPEED_PRESETS[text]
    try:
        return _speed(text)  # the demo's number check
    except argparse.ArgumentTypeError:
        low, high = DEMO_SPEED_RANGE
        names = ", ".join(SPEED_PRESETS)
        raise argparse.ArgumentTypeError(
            f"must be a number from {low:g} to {high:g} or one of {names}"
        ) from None


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``postaltop watch``."""
    parser.add_argument("--demo", action="store_true", help="watch the simulated fleet instead of the config")
    parser.add_argument("--scenario", default="normal", metavar="NAME", help="demo scenario (default normal)")
    parser.add_argument("--seed", type=_seed, default=1, metavar="N", help="demo random seed (default: 1)")
    parser.add_argument(
        "--speed",
        type=speed_value,
        default=1.0,
        metavar="X",
        help="demo speed: simulated seconds per real second, or normal/fast/high/max (1/60/600/3600)",
    )
    parser.add_argument(
        "--metrics-address",
        default=DEFAULT_METRICS_ADDRESS,
        metavar="HOST:PORT",
        help=f"serve Prometheus /metrics here, 'off' to disable (default: {DEFAULT_METRICS_ADDRESS})",
    )
    parser.add_argument("--record", type=Path, metavar="FILE", help="record lines, metrics, alerts")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info", help="JSON log level"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the headless monitor until SIGTERM or SIGINT."""
    import asyncio
    import sys

    from postaltop.cli import load_from_args
    from postaltop.watch.jsonlog import JsonLogger
    from postaltop.watch.runner import WatchOptions, run_watch

    if args.demo and args.scenario not in scenario_names():
        valid = ", ".join(scenario_names())
        print(f"postaltop watch: error: unknown scenario {args.scenario!r}; valid: {valid}", file=sys.stderr)
        return 2
    loaded = load_from_args(args)
    address = None if args.metrics_address in ("", "off", "none") else args.metrics_address
    options = WatchOptions(
        demo=args.demo,
        scenario=args.scenario,
        seed=args.seed,
        speed=args.speed,
        metrics_address=address,
        record=args.record,
    )
    return asyncio.run(run_watch(loaded, options, JsonLogger(level=args.log_level)))


register_command(Command("watch", "headless monitor: notifications, Prometheus metrics", configure))
