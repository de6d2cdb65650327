"""The detail screen: one event's fields, its tags and the raw line."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from postaltop.core.events import LogEvent
from postaltop.core.parsing.fields import parse_fields
from postaltop.core.records import Record
from postaltop.core.sanitize import display_text
from postaltop.ui.services import app_services


def tag_pairs(tags: Any) -> list[tuple[str, str]]:
    """Tags as ``(key, value)`` pairs whether the parser returns a mapping or a sequence of pairs."""
    if isinstance(tags, Mapping):
        return [(str(k), str(v)) for k, v in tags.items()]
    if isinstance(tags, Iterable):
        return [(str(k), str(v)) for k, v in tags]
    return []


def event_rows(event: LogEvent | Record) -> tuple[list[tuple[str, str]], str, list[tuple[str, str]]]:
    """The fixed fields, the message and the tags of an event or a whole record, display-safe strings.

    A record's time, level, host and component are its first line's; its message joins the messages of
    its lines (a crash report's frames), and its tags are every line's tags in order (a Net::SMTP error's
    tags are on its second line).
    """
    record = event if isinstance(event, Record) else Record((event,))
    head = record.head
    parsed = [parse_fields(part.text) for part in record.parts]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(head.ts))
    first, last = record.parts[0].seq, record.parts[-1].seq
    count = len(record.parts)
    where = f"#{first}" if count == 1 else f"#{first} to #{last} ({count} physical lines)"
    fixed = [
        ("time", f"{when} UTC"),
        ("host", display_text(head.host) or "-"),
        ("component", display_text(head.component) or "-"),
        ("level", head.level.name),
        ("format", head.fmt.name),
        ("line", where),
    ]
    messages = [str(getattr(p, "message", "")) for p in parsed]
    message = "\n".join(display_text(m) for m in messages if m.strip())
    tags = [(display_text(k), display_text(v)) for p in parsed for k, v in tag_pairs(getattr(p, "tags", ()))]
    return fixed, message, tags


def _table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        # Text objects, never strings: a string cell would be parsed as Rich markup.
        table.add_row(Text(key), Text(value))
    return table


class DetailScreen(Screen[None]):
    """Everything about one log line."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="detail.close"),
        Binding("y", "copy_raw", "Copy raw line", id="detail.copy"),
        Binding("enter,T", "trace_message", "Trace message", show=False, id="detail.trace"),
    ]

    DEFAULT_CSS = """
    DetailScreen { background: $background; }
    DetailScreen VerticalScroll { padding: 1 2; }
    DetailScreen .section { color: $primary; text-style: bold; margin-top: 1; }
    DetailScreen #detail-raw { background: $surface; padding: 0 1; }
    """

    def __init__(self, event: LogEvent | Record) -> None:
        super().__init__()
        self.record = event if isinstance(event, Record) else Record((event,))
        self.event = self.record.head
        self.fixed, self.message, self.tags = event_rows(self.record)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Event", style="bold"), classes="section")
            yield Static(_table(self.fixed), id="detail-fields")
            yield Static(Text("Message"), classes="section")
            yield Static(Text(self.message or "-"), id="detail-message")
            yield Static(Text(f"Tags ({len(self.tags)})"), classes="section")
            yield Static(_table(self.tags) if self.tags else Text("none"), id="detail-tags")
            raw_title = "Raw line" if len(self.record.parts) == 1 else "Raw lines"
            yield Static(Text(raw_title), classes="section")
            raw = "\n".join(display_text(part.text) for part in self.record.parts)
            yield Static(Text(raw), id="detail-raw")
        yield Footer()

    def action_close(self) -> None:
        """Back to the log."""
        self.dismiss()

    def action_copy_raw(self) -> None:
        """Copy the raw line as Postal wrote it."""
        self.app.copy_to_clipboard(self.record.text)
        self.notify("Copied the raw line to the clipboard", markup=False)

    def action_trace_message(self) -> None:
        """Open the trace of the message this event is about (every host and component)."""
        from postaltop.ui.screens.trace import open_trace

        services = app_services(self.app)
        if services is not None:
            open_trace(self.app, services.engine.store, self.record.text)
