"""``postaltop versions``: each host's running Postal version against the known releases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from postaltop.cli import Command, load_from_args, register_command


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--releases", type=Path, metavar="FILE", help="a newer release table (format of data/releases.toml)"
    )
    parser.add_argument(
        "--host", action="append", default=[], metavar="NAME", help="only this host (repeatable)"
    )
    parser.add_argument("--demo", action="store_true", help="the simulated fleet's versions")
    parser.add_argument("--slow", action="store_true", help="also try `postal version` (starts a container)")
    parser.add_argument("--table", action="store_true", help="print the release table and exit")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from postaltop.cli import neutralise
    from postaltop.core.versions import ReleaseTableError, demo_host_versions
    from postaltop.sources.host_version import load_release_table

    loaded = load_from_args(args)
    try:
        table = load_release_table(args.releases or loaded.settings.review.releases_file)
    except (ReleaseTableError, OSError) as exc:
        print(f"postaltop versions: error: {exc}", file=sys.stderr)
        return 2
    if args.table:
        print(f"# release table: {table.source} (updated {table.updated or '?'})")
        for r in table.releases:
            flag = "security" if r.security else ""
            print(f"{r.version!s:<14} {r.date}  {flag:<8}  {r.note}")
        return 0
    if args.demo:
        versions = demo_host_versions(table)
    else:
        hosts = [h for h in loaded.settings.hosts if not args.host or h.name in args.host]
        if not hosts:
            print("postaltop versions: error: no hosts configured (or none matches --host)", file=sys.stderr)
            return 2
        import asyncio

        from postaltop.sources.host_version import read_versions
        from postaltop.sources.log_runner import ssh_options

        versions = asyncio.run(read_versions(hosts, ssh_options(loaded.settings), table, slow=args.slow))
    print(f"# latest known release: {table.latest.version} ({table.latest.date}); table: {table.source}")
    for hv in versions:
        source = hv.reading.source if hv.reading is not None else "-"
        state = hv.error or hv.status.describe()
        print(neutralise(f"{hv.host:<12} {state}  [read from: {source}]"))
    return 0


register_command(
    Command("versions", "show each host's Postal version against the known releases", _configure)
)
