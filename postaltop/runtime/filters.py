"""The filter history file as the UI sees it (:class:`~postaltop.runtime.interfaces.FilterHistory`)."""

from __future__ import annotations

from pathlib import Path

from postaltop.store.filters import FilterState, load_filter_state, save_filter_state


class FileFilterHistory:
    """The last filter and the history, in the state directory's ``filters.json`` (or ``path``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path

    def load(self) -> tuple[str, list[str]]:
        """The last filter and the history, oldest first (the filter bar's order)."""
        state = load_filter_state(self.path)
        return state.last, list(reversed(state.history))

    def save(self, last: str, history: list[str]) -> bool:
        """Remember ``last`` and ``history`` (oldest first); best effort."""
        return save_filter_state(FilterState(last=last.strip(), history=list(reversed(history))), self.path)
