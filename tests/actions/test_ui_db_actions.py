"""Issue 7's Done-when from the UI against the real MariaDB: hold a compromised credential, bulk-hold its
queued mail, see both in the audit screen, undo both (the database ends byte-identical)."""

# ruff: noqa: S608  # identifiers: the random pt_ test prefix; values: params

from __future__ import annotations

from typing import Any

from textual.widgets import OptionList

from postaltop.config import ActionsConfig, DatabaseConfig
from postaltop.runtime.actions import Actions
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.store.audit import AuditStore
from postaltop.ui.screens.action_preview import ActionPreviewScreen
from postaltop.ui.screens.actions import AuditScreen
from tests.actions.conftest import checksums, rows
from tests.actions.test_bulk_actions import _add_queued
from tests.support.postal_builder import Dataset
from tests.ui import make_app, make_engine
from tests.ui.test_action_screens import SIZE, open_preview, text_of


async def _confirm(app: Any, pilot: Any, word: str) -> Any:
    screen = app.screen
    assert isinstance(screen, ActionPreviewScreen)
    await pilot.press(*word, "enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert "[ok]" in text_of(screen, "#preview-result"), text_of(screen, "#preview-result")
    return screen


async def test_hold_credential_and_its_queue_then_undo_from_the_ui(
    dataset: Dataset, admin: Any, db_config: DatabaseConfig, store: AuditStore
) -> None:
    ids = _add_queued(admin, dataset, [1, 1, 1, 2])
    before = checksums(admin, dataset)
    config = ActionsConfig(enabled=True)
    app = make_app(
        make_engine(), actions=Actions(DbActionExecutor(db_config, config, store, environ={}), config)
    )
    msg = f"`{dataset.prefix}-server-1`"
    async with app.run_test(size=SIZE) as pilot:
        await open_preview(app, pilot, "credential-hold", "acme/main", "main main smtp")
        await _confirm(app, pilot, "y")
        await pilot.press("escape", "escape")
        preview = await open_preview(app, pilot, "hold-queued", "acme/main", "main main smtp")
        assert preview.preview.count >= 3
        await _confirm(app, pilot, "y")
        held = rows(admin, f"SELECT status FROM {msg}.messages WHERE id IN %s ORDER BY id", (ids,))
        assert held == [("Held",), ("Held",), ("Held",), ("Pending",)]
        assert rows(admin, f"SELECT hold FROM `{dataset.prefix}`.credentials WHERE id = 1") == [(1,)]
        # The audit screen lists both; Enter on the newest previews its undo.
        await pilot.press("escape")
        menu_list = app.screen.query_one("#actions-list", OptionList)
        menu_list.focus()
        menu_list.highlighted = menu_list.option_count - 1
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        audit = app.screen
        assert isinstance(audit, AuditScreen)
        entries = audit.query_one(OptionList)
        assert entries.option_count == 2
        assert "hold-queued acme/main [ok]" in str(entries.get_option_at_index(0).prompt)
        assert "credential-hold acme/main [ok]" in str(entries.get_option_at_index(1).prompt)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await _confirm(app, pilot, "undo 2")
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert app.screen_stack_names()[-1] == "MainScreen"
        await pilot.press("u")  # the last action not undone: the credential hold
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.plan.undo_of == 1  # type: ignore[attr-defined]
        await _confirm(app, pilot, "undo 1")
    assert checksums(admin, dataset) == before
