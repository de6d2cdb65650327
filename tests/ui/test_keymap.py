"""``[ui] keymap``: binding ids rebind keys for real, unknown ids are a visible warning at start."""

from __future__ import annotations

from textual.widgets._toast import Toast

from postaltop.config import UiConfig
from postaltop.ui.app import PostaltopApp
from postaltop.ui.keymap import keymap_warning, known_binding_ids
from postaltop.ui.screens.main import MainScreen
from tests.ui import make_app, make_engine

SIZE = (120, 36)


def toast_texts(app: PostaltopApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_app_quit_rebound_to_ctrl_q() -> None:
    app = make_app(make_engine(), ui=UiConfig(keymap={"app.quit": "ctrl+q"}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert app.keymap_warning is None and toast_texts(app) == []
        # ctrl+q now runs postaltop's own quit binding (Textual's default ctrl+q is overridden by id)
        active = app.active_bindings["ctrl+q"].binding
        assert (active.id, active.action) == ("app.quit", "quit")
        await pilot.press("q")  # the old key no longer quits
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen, MainScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0


async def test_app_quit_rebound_to_a_key_textual_does_not_bind() -> None:
    app = make_app(make_engine(), ui=UiConfig(keymap={"app.quit": "f2"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("f2")
        await pilot.pause()
        assert app.return_code == 0


async def test_unknown_binding_id_warns_at_start_with_the_valid_ids() -> None:
    app = make_app(make_engine(), ui=UiConfig(keymap={"quit": "ctrl+q", "app.help": "f1"}))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        warning = app.keymap_warning
        assert warning is not None
        assert "unknown binding id 'quit'" in warning and "app.help'" not in warning
        assert "Valid ids:" in warning and "app.quit" in warning and "main.filter" in warning
        shown = "\n".join(toast_texts(app))
        assert "unknown binding id 'quit'" in shown and "app.quit" in shown
        await pilot.press("q")  # the known id still works and q still quits (the unknown one did nothing)
        await pilot.pause()
        assert app.return_code == 0


def test_known_ids_cover_the_app_and_screen_bindings() -> None:
    ids = known_binding_ids()
    for cls in (PostaltopApp, MainScreen):
        for binding in cls.BINDINGS:
            assert getattr(binding, "id", None) in ids
    assert keymap_warning({"app.quit": "ctrl+q", "main.filter": "f"}, ids) is None
    hostile = keymap_warning({"\x1b[2Jx": "a"}, ids)
    assert hostile is not None and "\x1b" not in hostile
