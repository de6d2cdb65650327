"""``postaltop replay FILE``: open the full UI on a recording, for post-incident review."""

from __future__ import annotations

import argparse
from pathlib import Path

from postaltop.cli import Command, register_command


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``postaltop replay``."""
    from postaltop.commands.watch import speed_value

    parser.add_argument("file", type=Path, metavar="FILE", help="a recording (postaltop watch/demo --record)")
    parser.add_argument(
        "--speed",
        type=speed_value,
        default=1.0,
        metavar="X",
        help="recorded seconds per real second, or normal/fast/high/max (default: 1)",
    )
    parser.add_argument("--paused", action="store_true", help="start paused (space resumes)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Open the UI on the recording."""
    import sys

    from postaltop.cli import load_from_args
    from postaltop.recording.file import RecordingError, read_header

    try:
        read_header(args.file)
    except RecordingError as exc:
        print(f"postaltop replay: error: {exc}", file=sys.stderr)
        return 2
    loaded = load_from_args(args)
    from postaltop.commands.tui import run_replay

    code: int = run_replay(loaded, args.file, speed=args.speed, paused=args.paused)
    return code


register_command(Command("replay", "replay a recording in the UI (pause, seek)", configure))
