"""The command line: ``postaltop [--config FILE] [COMMAND ...]``.

Commands are registered in :data:`COMMANDS` (see :class:`Command`); a later command is one
``register_command(Command(...))`` call in its own module, listed in :data:`COMMAND_MODULES`, with no change
to :func:`main`. Heavy imports (Textual, asyncssh, the simulator) happen inside handlers so that
``postaltop --version`` and ``postaltop config check`` stay fast.

Exit codes: 0 success, 1 unexpected error, 2 usage or configuration error, 128+N ended by signal N
(129: the terminal hung up).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postaltop import __version__, locations, preflight
from postaltop.cli_parser import HelpFormatter as _Formatter
from postaltop.cli_parser import LazyCommands
from postaltop.config_error import ConfigError
from postaltop.core.sanitize import neutralise

if TYPE_CHECKING:  # postaltop.config imports pydantic: the TUI's start checks it in a child (preflight)
    from postaltop.config import LoadedSettings

__all__ = [
    "COMMANDS",
    "Command",
    "add_subcommand",
    "load_from_args",
    "main",
    "neutralise",
]

Handler = Callable[[argparse.Namespace], int]

DEMO_SPEED_RANGE = (0.1, 3600.0)
"""Allowed ``demo --speed`` factors (simulated seconds per real second)."""
DEFAULT_SCENARIOS = ("normal", "brute-force")
"""Scenario names accepted when the simulator's catalogue cannot be imported."""


@dataclass(frozen=True)
class Command:
    """A top-level sub-command."""

    name: str
    """What is typed after ``postaltop``."""
    help: str
    """One line for ``postaltop --help``."""
    configure: Callable[[argparse.ArgumentParser], None]
    """Adds the arguments (or nested sub-commands, via :func:`add_subcommand`) and sets the handler with
    ``parser.set_defaults(handler=...)``; a handler takes the parsed namespace and returns the exit code."""


COMMANDS: dict[str, Command] = {}
"""Registered commands, in ``--help`` order."""

COMMAND_MODULES: tuple[str, ...] = (
    "postaltop.commands.hosts",
    "postaltop.commands.trace",
    "postaltop.commands.watch",
    "postaltop.commands.replay",
    "postaltop.commands.review",
    "postaltop.commands.report",
    "postaltop.commands.versions",
    "postaltop.commands.action",
    "postaltop.commands.audit",
    "postaltop.commands.help",
)
"""Modules imported when the parser is built; each calls :func:`register_command` at import (for example
``"postaltop.commands.audit"``). Keep their top-level imports light."""


def register_command(command: Command) -> Command:
    """Add ``command`` to :data:`COMMANDS` (a name registered twice is a programming error)."""
    if command.name in COMMANDS:
        raise ValueError(f"command {command.name!r} is already registered")
    COMMANDS[command.name] = command
    return command


def _global_options() -> argparse.ArgumentParser:
    # SUPPRESS: a sub-parser must not reset --config given before the command to its default.
    parent = argparse.ArgumentParser(add_help=False, formatter_class=_Formatter)
    parent.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"configuration file (default: {locations.default_config_path()})",
    )
    return parent


def add_subcommand(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    """Add a (nested) sub-command parser that also accepts the global options, like ``--config``."""
    return subparsers.add_parser(
        name, help=help_text, description=help_text, parents=[_global_options()], formatter_class=_Formatter
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser: global options, then every registered command."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="postaltop",
        description="A terminal live monitor for the Postal mail server (without a command: the monitor).",
        parents=[_global_options()],
    )
    parser.add_argument("--version", action="version", version=f"postaltop {__version__}")
    parser.set_defaults(handler=_run_monitor)
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="record what the monitor sees to FILE (postaltop replay FILE)",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", action=LazyCommands)
    assert isinstance(subparsers, LazyCommands)
    for command in COMMANDS.values():  # each command's arguments are added if it is the one chosen
        subparsers.pending[command.name] = (
            add_subcommand(subparsers, command.name, command.help),
            command.configure,
        )
    return parser


def load_from_args(args: argparse.Namespace) -> LoadedSettings:
    """Load the configuration named by ``--config`` (or the default one) and print its warnings.

    Raises:
        ConfigError: when the configuration is unusable.
    """
    from postaltop.config import load_settings

    path: Path | None = getattr(args, "config", None)
    loaded = load_settings(path)
    for warning in loaded.warnings:
        _err(f"postaltop: warning: {warning}")
    return loaded


def main(argv: list[str] | None = None) -> int:
    """Run postaltop; returns the process exit code (never raises, except SystemExit from a handler)."""
    try:
        return _main(argv)
    except ConfigError as exc:
        _err(exc.message)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from postaltop import lifecycle  # imports asyncio: not before the configuration check forks

        if lifecycle.is_lost_output_error(exc):
            # The terminal or the reading end of a pipe went away: nobody is left to tell.
            lifecycle.silence_output()
            return 141 if exc.errno == errno.EPIPE else 129  # type: ignore[attr-defined]
        if os.environ.get("POSTALTOP_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        detail = " ".join(str(exc).split()) or type(exc).__name__
        if len(detail) > 300:
            detail = detail[:300] + "..."
        _err(f"postaltop: error: {type(exc).__name__}: {detail} (run with POSTALTOP_DEBUG=1 for a traceback)")
        return 1


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    handler: Handler = args.handler
    demo = bool(getattr(args, "demo", False))
    with locations.namespace(locations.DEMO_NAMESPACE if demo else ""):
        code = handler(args)
    # Flush here, not at interpreter exit, so a closed pipe (`postaltop config check | head -1`) is
    # handled by main() instead of ending in "Exception ignored" noise.
    sys.stdout.flush()
    # Only a run that installed the signal handlers (postaltop.lifecycle) can have been ended by one.
    lifecycle = sys.modules.get("postaltop.lifecycle")
    signum = lifecycle.received_signal() if lifecycle is not None else None
    return 128 + signum if signum is not None else code


def _ui_app() -> Any:
    """The UI entry points, imported only when a screen is about to open (Textual is slow to import)."""
    return importlib.import_module("postaltop.commands.tui")


def _result(value: object) -> int:
    """Exit code from a UI entry point (which may return None)."""
    return value if isinstance(value, int) else 0


# --- default: the live monitor ---------------------------------------------------------------------


def _checked_frame(args: argparse.Namespace) -> tuple[Any, preflight.FirstFrame]:
    """The UI entry points and the checked configuration, prepared at once (:mod:`postaltop.preflight`).

    The configuration is validated in a child while Textual and the first frame's modules import here; the
    verdict is awaited before anything is drawn, so a bad configuration still never opens the UI.

    Raises:
        ConfigError: when the configuration is unusable.
    """
    pending = preflight.start(getattr(args, "config", None))
    app = _ui_app()
    app.preload()
    frame = pending.result()
    for warning in frame.warnings:
        _err(f"postaltop: warning: {warning}")
    return app, frame


def _run_monitor(args: argparse.Namespace) -> int:
    app, frame = _checked_frame(args)
    if frame.source is None and not frame.is_configured:
        return _result(app.run_first_run(frame.load()))
    record: Path | None = getattr(args, "record", None)
    extra = {"record": record} if record is not None else {}  # --record FILE (postaltop.recording)
    return _result(app.run_monitor(frame, **extra))


# --- demo ------------------------------------------------------------------------------------------


def _speed(text: str) -> float:
    low, high = DEMO_SPEED_RANGE
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be a number from {low:g} to {high:g}, not {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 up, not {text!r}")
    return value


def scenario_names() -> list[str]:
    """The simulator's scenarios (a fixed fallback when its catalogue cannot be imported)."""
    try:
        sim = importlib.import_module("postaltop.core.sim.scenarios")
    except ImportError:
        return list(DEFAULT_SCENARIOS)
    scenarios = getattr(sim, "SCENARIOS", None)
    return list(scenarios) if scenarios else list(DEFAULT_SCENARIOS)


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", default="normal", metavar="NAME", help="what happens (default: normal)")
    parser.add_argument(
        "--seed", type=_seed, default=1, metavar="N", help="random seed, 0 or more (default: 1)"
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second, 0.1 to 3600 (default: 1)",
    )
    parser.add_argument(
        "--record", type=Path, metavar="FILE", help="record lines and metrics to FILE (postaltop replay FILE)"
    )
    parser.set_defaults(handler=_run_demo, demo=True)


def _run_demo(args: argparse.Namespace) -> int:
    valid = scenario_names()
    if args.scenario not in valid:
        _err(
            f"postaltop demo: error: unknown scenario {args.scenario!r}; valid scenarios: {', '.join(valid)}"
        )
        return 2
    app, frame = _checked_frame(args)
    record: Path | None = getattr(args, "record", None)
    extra = {"record": record} if record is not None else {}  # --record FILE (postaltop.recording)
    return _result(app.run_demo(frame, scenario=args.scenario, seed=args.seed, speed=args.speed, **extra))


# --- config check / config path --------------------------------------------------------------------


def _configure_config(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(title="config commands", metavar="ACTION", required=True)
    check = add_subcommand(sub, "check", "validate the configuration and print it, secrets masked")
    check.set_defaults(handler=_config_check)
    path = add_subcommand(sub, "path", "print where the configuration file is looked for")
    path.set_defaults(handler=_config_path)
    init = add_subcommand(
        sub, "init", "write a starter configuration from ~/.ssh/config, Postal's postal.yml and ~/.my.cnf"
    )
    importlib.import_module("postaltop.commands.config_init").configure(init)


def _config_check(args: argparse.Namespace) -> int:
    from postaltop.config import effective_config_text, resolve_db_password

    loaded = load_from_args(args)
    if loaded.settings_source is not None:
        _out(f"# configuration file: {loaded.settings_source}")
    else:
        _out(f"# no config file; defaults (looked for {loaded.searched_path})")
    if loaded.settings.database is not None:
        _out(f"# database password: {resolve_db_password(loaded.settings.database).source}")
    for line in notify_secret_sources(loaded.settings):
        _out(f"# {line}")
    _out("# the configuration is valid; effective settings (environment included):")
    _out("")
    _out(effective_config_text(loaded.settings), end="")
    return 0


def notify_secret_sources(settings: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """Where each notification secret is read from (``notify.slack webhook_url: environment variable X``)."""
    env = os.environ if environ is None else environ
    notify = getattr(settings, "notify", None)
    out: list[str] = []
    for channel in ("slack", "pagerduty", "email", "alertmanager"):
        section = getattr(notify, channel, None)
        if section is None:
            continue
        for name in type(section).model_fields:
            if not name.endswith("_env"):
                continue
            secret = name.removesuffix("_env")
            var, path = getattr(section, name), getattr(section, f"{secret}_file", None)
            if var:
                state = "set" if var in env else "NOT SET"
                out.append(f"notify.{channel} {secret}: environment variable {var} ({state})")
            elif path:
                out.append(f"notify.{channel} {secret}: file {path}")
    return out


def _config_path(args: argparse.Namespace) -> int:
    given: Path | None = getattr(args, "config", None)
    path = given if given is not None else locations.default_config_path()
    state = "exists" if path.is_file() else "does not exist"
    _out(f"{path}")
    _err(f"({state}; the default location is {locations.default_config_path()})")
    return 0


register_command(Command("demo", "play a simulated Postal fleet (no servers needed)", _configure_demo))
register_command(
    Command("config", "check the configuration or show where it is read from", _configure_config)
)


# --- output ----------------------------------------------------------------------------------------


def _out(text: str, end: str = "\n") -> None:
    print(neutralise(text), end=end, file=sys.stdout)


def _err(text: str) -> None:
    with contextlib.suppress(OSError):
        print(neutralise(text), file=sys.stderr)
