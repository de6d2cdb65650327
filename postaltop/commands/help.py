"""``postaltop help [TOPIC]``: the documentation, readable wherever postaltop is installed.

The pages of ``docs/`` are packaged into the wheel as ``postaltop/docs`` (see ``pyproject.toml``); from a
source checkout they are read from the repository's ``docs/``. ``--path`` prints the folder, for the files
that are not pages (the Prometheus rules and the Grafana dashboard).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from postaltop.cli import Command, register_command


def docs_dirs() -> list[Path]:
    """Folders that may hold the documentation, in search order (wheel first, then the checkout)."""
    package_dir = Path(__file__).resolve().parent.parent
    return [package_dir / "docs", package_dir.parent / "docs"]


def docs_dir() -> Path | None:
    """The documentation folder, or None when this installation has none."""
    for folder in docs_dirs():
        if (folder / "configuration.md").is_file():
            return folder
    return None


def topics(folder: Path) -> list[str]:
    """Page names (``configuration``, ``watch``, ...), sorted."""
    return sorted(p.stem for p in folder.glob("*.md"))


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``postaltop help``."""
    parser.add_argument("topic", nargs="?", help="a page, e.g. configuration or watch (none: the list)")
    parser.add_argument("--path", action="store_true", help="print the documentation folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the list of pages, one page, or the folder."""
    from postaltop.cli import _err, _out

    folder = docs_dir()
    if folder is None:
        _err("postaltop help: the documentation is not part of this installation")
        return 1
    if args.path:
        _out(str(folder))
        return 0
    names = topics(folder)
    if not args.topic:
        _out("postaltop help TOPIC prints a page (pipe it to less); topics:")
        for name in names:
            _out(f"  {name}")
        _out(f"Files (Prometheus rules, Grafana dashboard): {folder}")
        return 0
    topic = args.topic.removesuffix(".md").lower()
    if topic not in names:
        _err(f"postaltop help: no topic {args.topic!r}; topics: {', '.join(names)}")
        return 2
    _out((folder / f"{topic}.md").read_text(encoding="utf-8"), end="")
    return 0


register_command(Command("help", "show the documentation: postaltop help [TOPIC]", configure))
