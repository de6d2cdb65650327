"""Pilot tests of the actions menu and the preview/confirm screen, in the demo: a full action and its undo."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, OptionList, Static

from postaltop.config import ActionsConfig
from postaltop.core.sim import Fleet
from postaltop.runtime.actions import Actions, demo_actions
from postaltop.ui.app import PostaltopApp
from postaltop.ui.screens.action_preview import ActionPreviewScreen
from postaltop.ui.screens.actions import ActionsScreen
from tests.ui import EPOCH, feed, make_app, make_engine

SIZE = (120, 40)


def demo_app(actions: ActionsConfig | None = None) -> tuple[PostaltopApp, Fleet]:
    fleet = Fleet(seed=1, scenario="compromised-credential", start=EPOCH)
    engine = make_engine()
    feed(engine, fleet.advance(EPOCH + 60))
    app = make_app(
        engine,
        mode="demo · compromised-credential · seed 1",
        actions=demo_actions(fleet, actions or ActionsConfig()),
    )
    return app, fleet


async def open_preview(
    app: PostaltopApp, pilot: Any, action: str, server: str, credential: str = "", value: str = ""
) -> ActionPreviewScreen:
    app.main().sync()
    await pilot.pause()
    await pilot.press("x")
    await pilot.pause()
    menu = app.screen
    assert isinstance(menu, ActionsScreen)
    menu.query_one("#actions-server", Input).value = server
    menu.query_one("#actions-credential", Input).value = credential
    menu.query_one("#actions-value", Input).value = value
    options = menu.query_one(OptionList)
    options.focus()
    options.highlighted = [o.id for o in options._options].index(action)
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ActionPreviewScreen), app.screen_stack_names()
    return app.screen


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_hold_credential_then_undo_from_the_ui() -> None:
    app, fleet = demo_app()
    cred = fleet.installation.server("acme/transactional").credential("main smtp")
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(app, pilot, "credential-hold", "acme/transactional", "main smtp")
        body = text_of(preview, "#preview-text")
        assert "Hold credential" in body and "UPDATE {main}.`credentials` SET hold = %s" in body
        assert "Affected: 1 credential" in body
        assert "webhooks" in text_of(preview, "#preview-warning")
        assert cred.key not in body
        await pilot.press(*"y", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cred.hold
        assert "[ok]" in text_of(preview, "#preview-result")
        await pilot.press("escape", "escape")  # preview, then menu
        await pilot.pause()
        assert app.screen_stack_names()[-1] == "MainScreen"
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        undo = app.screen
        assert isinstance(undo, ActionPreviewScreen) and undo.plan.undo_of == 1
        await pilot.press(*"undo 1", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not cred.hold
        assert "[ok]" in text_of(undo, "#preview-result")


async def test_destructive_action_needs_the_name_and_cancel_changes_nothing() -> None:
    app, fleet = demo_app()
    cred = fleet.installation.server("acme/transactional").credential("main smtp")
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(app, pilot, "credential-revoke", "acme/transactional", "main smtp")
        await pilot.press("y", "enter")  # not the name: refused
        await pilot.pause()
        assert not cred.deleted
        assert "Not confirmed" in text_of(preview, "#preview-result")
        await pilot.press("escape")  # cancel
        await pilot.pause()
        assert not cred.deleted
        assert isinstance(app.screen, ActionsScreen)
    assert app.actions is not None and app.actions.audit_trail() == []


async def test_protected_server_gets_a_red_frame_and_typed_confirmation() -> None:
    app, fleet = demo_app(ActionsConfig(protected_servers=["acme/transactional"]))
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(app, pilot, "server-mode", "acme/transactional", value="Development")
        assert preview.has_class("protected") and preview.confirm_word == "acme/transactional"
        await pilot.press(*"acme/transactional", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert fleet.installation.server("acme/transactional").mode == "Development"


async def test_unknown_target_is_explained() -> None:
    app, _fleet = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        app.main().sync()
        await pilot.press("x")
        await pilot.pause()
        menu = app.screen
        menu.query_one("#actions-server", Input).value = "nope/nope"
        options = menu.query_one(OptionList)
        options.focus()
        options.highlighted = [o.id for o in options._options].index("server-unsuspend")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ActionsScreen)
        assert "no server 'nope/nope'" in text_of(menu, "#actions-error")  # inline, under the form


async def test_the_form_is_labelled_starts_in_the_first_field_and_validates_inline() -> None:
    app, _fleet = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        app.main().sync()
        await pilot.press("x")
        await pilot.pause()
        menu = app.screen
        assert isinstance(menu, ActionsScreen)
        labels = [str(label.render()) for label in menu.query(".field Label")]
        assert labels == ["Server", "Credential", "Value"]
        assert app.focused is menu.query_one("#actions-server", Input)
        await pilot.press("enter")  # on to the list; credential-hold needs a server and a credential
        await pilot.pause()
        assert isinstance(app.focused, OptionList)
        options = menu.query_one(OptionList)
        options.highlighted = [o.id for o in options._options].index("credential-hold")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ActionsScreen)
        server_error = menu.query_one("#actions-server-error", Static)
        assert server_error.display and "required" in text_of(menu, "#actions-server-error")
        assert "required" in text_of(menu, "#actions-credential-error")
        assert not menu.query_one("#actions-value-error", Static).display
        assert app.focused is menu.query_one("#actions-server", Input)  # back to the first missing field
        assert not any("server" in str(n.message) for n in app._notifications)  # not a toast


async def test_without_an_executor_x_explains() -> None:
    app = make_app(make_engine())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert app.screen_stack_names()[-1] == "MainScreen"
        assert any("Actions need the database" in str(n.message) for n in app._notifications)


async def test_disabled_actions_preview_explains_how_to_enable() -> None:
    from postaltop.sources.demo_actions import DemoActionExecutor
    from postaltop.store.audit import AuditStore

    app, fleet = demo_app()
    app.actions = Actions(
        DemoActionExecutor(fleet, ActionsConfig(), AuditStore(), allow=False), ActionsConfig()
    )
    async with app.run_test(size=SIZE) as pilot:
        preview = await open_preview(app, pilot, "server-mode", "acme/transactional", value="Development")
        assert "enabled = true" in text_of(preview, "#preview-result")
        assert not preview.query("#preview-confirm")
        assert "Read-only" in str(app.screen_stack[-2].query_one("#actions-readonly", Static).render())
    assert fleet.installation.server("acme/transactional").mode == "Live"
