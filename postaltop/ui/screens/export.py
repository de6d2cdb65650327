"""A small prompt for the export path (Enter exports, Escape cancels)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from postaltop import locations
from postaltop.core.events import LogEvent
from postaltop.core.export import to_csv, to_jsonl
from postaltop.core.logstore import LogStore
from postaltop.core.view import FilteredView
from postaltop.private_files import open_private_text


class ExportScreen(ModalScreen[Path | None]):
    """Asks where to export the filtered view; ``.csv`` exports CSV, anything else JSONL."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen #export-box { width: 80%; max-width: 100; height: auto; padding: 1 2;
        border: round $primary; background: $surface; }
    ExportScreen Input { margin-top: 1; }
    """

    def __init__(self, default_path: Path, count: int) -> None:
        super().__init__()
        self.default_path = default_path
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(
                Text(
                    f"Export the {self.count:,} lines of the current view.\n"
                    "A path ending in .csv writes CSV; anything else writes JSON lines. "
                    "Enter exports, Escape cancels."
                )
            )
            yield Input(value=str(self.default_path), id="export-path", select_on_focus=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Export to the typed path."""
        event.stop()
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)


EXPORT_CHUNK = 5000
"""Events written per slice; the loop is given back between slices so the UI stays live."""


async def export_view(view: FilteredView, store: LogStore, path: Path) -> int:
    """Write the view's events to ``path``: CSV when it ends in ``.csv``, JSON lines otherwise.

    Runs on the event loop in slices (the store is only safe to read between ingests, which
    happen on the same loop). Rows evicted from the ring while exporting are skipped.

    Returns:
        Lines written.
    """
    seqs = view.seqs(0, len(view))  # the view as it is now; later arrivals are not part of it
    written = 0

    def events() -> Iterator[LogEvent]:
        nonlocal written
        for seq in seqs:
            if seq in store:
                written += 1
                yield store.event(seq)

    pieces = to_csv(events()) if path.suffix.lower() == ".csv" else to_jsonl(events())
    with open_private_text(path, "w", newline="") as out:
        for count, piece in enumerate(pieces, 1):
            out.write(piece)
            if count % EXPORT_CHUNK == 0:
                await asyncio.sleep(0)
    return written


def default_export_path(now: float) -> Path:
    """``<XDG data>/postaltop/exports/postaltop-<time>.jsonl``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return locations.data_dir() / "exports" / f"postaltop-{stamp}.jsonl"


async def export_and_tell(teller: Any, view: FilteredView, store: LogStore, path: Path) -> int:
    """Export ``view`` to ``path`` and tell the user (``teller.notify``) where it went, or why not.

    Returns:
        Lines written (-1 on failure).
    """
    try:
        count = await export_view(view, store, path)
    except OSError as exc:
        teller.notify(f"Export to {path} failed: {exc.strerror or exc}", severity="error", markup=False)
        return -1
    teller.notify(f"Exported {count:,} lines to {path}", markup=False, timeout=8)
    return count
