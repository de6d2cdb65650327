"""argparse for a command line that starts a TUI: a formatter that asks the terminal's size once, and
sub-commands whose arguments are added only for the command chosen.

``postaltop`` (the monitor) and ``postaltop demo`` draw their first frame as early as they can; building the
arguments of every other command (a dozen, some listing the action catalogue in their help) before that frame
was ~25 ms of CPU and imported modules the TUI does not use.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsers = argparse._SubParsersAction


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter, reading the terminal's width once per process.

    argparse builds a formatter for every ``add_argument`` (to check its metavar), and each one asks the
    terminal for its size: ~140 system calls and fallbacks before the first frame of the TUI.
    """

    _terminal_width: int | None = None

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        if width is None:
            if HelpFormatter._terminal_width is None:
                HelpFormatter._terminal_width = shutil.get_terminal_size().columns - 2
            width = HelpFormatter._terminal_width
        super().__init__(prog, indent_increment, max_help_position, width)


class LazyCommands(_SubParsers):
    """A sub-parsers action whose parsers get their arguments when their command is chosen.

    :attr:`pending` maps a command's name to its (empty) parser and the function that adds its arguments;
    the parser is listed in ``--help`` at once (name and one-line help), and configured when the command is
    parsed (its own ``--help`` included).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[
            str, tuple[argparse.ArgumentParser, Callable[[argparse.ArgumentParser], None]]
        ] = {}

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        """Add the chosen command's arguments (once), then parse the rest of the line with them."""
        name = values[0] if isinstance(values, Sequence) and values else None
        waiting = self.pending.pop(name, None) if isinstance(name, str) else None
        if waiting is not None:
            sub, configure = waiting
            configure(sub)
        super().__call__(parser, namespace, values, option_string)
