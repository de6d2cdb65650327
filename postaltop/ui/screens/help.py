"""The help screen: every key binding, by screen, with the user's keymap applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.keys import format_key
from textual.screen import Screen
from textual.widgets import Footer, Static


def _bindings(items: Sequence[BindingType]) -> list[Binding]:
    found: list[Binding] = []
    for item in items:
        if isinstance(item, Binding):
            found.append(item)
        elif isinstance(item, tuple) and len(item) >= 2:
            found.append(Binding(*item))
    return found


def binding_rows(items: Sequence[BindingType], keymap: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(keys, description, id)`` rows for a ``BINDINGS`` list, with keymap overrides applied."""
    rows = []
    for binding in _bindings(items):
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        description = binding.description or binding.action.replace("_", " ")
        shown = ", ".join(format_key(key.strip()) for key in keys.split(","))
        rows.append((shown, description, binding.id or ""))
    return rows


def help_sections(
    keymap: Mapping[str, str], app_bindings: Iterable[BindingType] = ()
) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """All key bindings, grouped by where they apply, read from each screen's and widget's ``BINDINGS``.

    ``app_bindings``: the app's own ("Everywhere"; the app passes them: this module does not import it).
    """
    return [
        ("Everywhere", binding_rows(list(app_bindings), keymap)),
        *_main_sections(keymap),
        *_screen_sections(keymap),
    ]


Section = tuple[str, list[tuple[str, str, str]]]


def _main_sections(keymap: Mapping[str, str]) -> list[Section]:
    """The main screen and its widgets."""
    # Imported here: the screens import this module.
    from postaltop.ui.screens.alert_detail import AlertDetailScreen
    from postaltop.ui.screens.main import MainScreen
    from postaltop.ui.widgets.alert_list import AlertList
    from postaltop.ui.widgets.alert_prompts import AckPrompt
    from postaltop.ui.widgets.filter_bar import FilterInput
    from postaltop.ui.widgets.log_panel import LogPanel
    from postaltop.ui.widgets.rate_chart import RateChart
    from postaltop.ui.widgets.servers_table import ServersTable

    move = ("↑, ↓", "Move the selection", "")
    return [
        ("Main screen", binding_rows(MainScreen.BINDINGS, keymap)),
        ("Log panel (when it has focus)", binding_rows(LogPanel.BINDINGS, keymap)),
        ("Filter input (after /)", [*binding_rows(FilterInput.BINDINGS, keymap), ("⏎", "Apply filter", "")]),
        ("Alert list (after a)", binding_rows(AlertList.BINDINGS, keymap)),
        ("Alert detail (⏎ on an alert)", binding_rows(AlertDetailScreen.BINDINGS, keymap)),
        (
            "Acknowledge / silence prompts (A, S)",
            [*binding_rows(AckPrompt.BINDINGS, keymap), ("⏎", "Confirm", "")],
        ),
        ("Send-rate chart (when it has focus)", binding_rows(RateChart.BINDINGS, keymap)),
        (
            "Servers table (after s)",
            [*binding_rows(ServersTable.BINDINGS, keymap), move, ("⏎", "Narrow the log to the server", "")],
        ),
    ]


def _screen_sections(keymap: Mapping[str, str]) -> list[Section]:
    """The other screens: actions, audit, trace, detail, export, replay, review, help and the rest."""
    from postaltop.ui.replay_keys import REPLAY_BINDINGS
    from postaltop.ui.screens.action_preview import ActionPreviewScreen
    from postaltop.ui.screens.actions import ActionsScreen, AuditScreen
    from postaltop.ui.screens.detail import DetailScreen
    from postaltop.ui.screens.export import ExportScreen
    from postaltop.ui.screens.first_run import FirstRunScreen
    from postaltop.ui.screens.review import ReviewScreen
    from postaltop.ui.screens.too_small import TooSmallScreen
    from postaltop.ui.screens.trace import TraceScreen

    move = ("↑, ↓", "Move the selection", "")
    return [
        ("Actions menu (after x)", [*binding_rows(ActionsScreen.BINDINGS, keymap), move]),
        (
            "Action preview and confirmation",
            [*binding_rows(ActionPreviewScreen.BINDINGS, keymap), ("⏎", "Run", "")],
        ),
        (
            "Audit trail (actions menu)",
            [*binding_rows(AuditScreen.BINDINGS, keymap), ("⏎", "Preview the undo", "")],
        ),
        ("Message trace (T)", binding_rows(TraceScreen.BINDINGS, keymap)),
        ("Detail view", binding_rows(DetailScreen.BINDINGS, keymap)),
        ("Export prompt (after e)", [*binding_rows(ExportScreen.BINDINGS, keymap), ("⏎", "Export", "")]),
        ("Replay (postaltop replay)", binding_rows(REPLAY_BINDINGS, keymap)),
        ("Log review (postaltop review)", binding_rows(ReviewScreen.BINDINGS, keymap)),
        ("Help", binding_rows(HelpScreen.BINDINGS, keymap)),
        ("First run", binding_rows(FirstRunScreen.BINDINGS, keymap)),
        ("Terminal too small", binding_rows(TooSmallScreen.BINDINGS, keymap)),
    ]


class HelpScreen(Screen[None]):
    """Lists every key."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Back", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen VerticalScroll { padding: 1 2; }
    HelpScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    """

    def __init__(
        self, keymap: Mapping[str, str] | None = None, app_bindings: Iterable[BindingType] = ()
    ) -> None:
        super().__init__()
        self.keymap = dict(keymap or {})
        self.app_bindings = list(app_bindings)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                Text(
                    "postaltop keys. Everything works without a mouse; ctrl+p opens the command palette.\n"
                    'Rebind keys with [ui.keymap] in the config file: binding id = "keys".',
                )
            )
            for title, rows in help_sections(self.keymap, self.app_bindings):
                yield Static(Text(title), classes="section")
                table = Table.grid(padding=(0, 3))
                table.add_column(no_wrap=True, style="bold", min_width=18)
                table.add_column(min_width=24)
                table.add_column(style="dim")
                for keys, description, binding_id in rows:
                    table.add_row(Text(keys), Text(description), Text(binding_id))
                yield Static(table)
        yield Footer()

    def action_close(self) -> None:
        """Back."""
        self.dismiss()
