"""``postaltop replay`` opens the full UI on a recording: lines arrive, space pauses, ] jumps, [ restarts."""

from __future__ import annotations

from pathlib import Path

from postaltop.commands.tui import build_replay_app
from postaltop.config import load_settings
from postaltop.recording.replay import Recording
from postaltop.ui.replay_app import RESTART
from postaltop.ui.widgets.replay_bar import replay_text
from tests.watch.test_recording import record_demo


async def test_replay_in_the_ui_pause_and_seek(tmp_path: Path) -> None:
    path = tmp_path / "incident.postaltop.gz"
    _fed, _polls, original = await record_demo(path)
    recording = Recording(path)
    app = build_replay_app(load_settings(None), recording, speed=1.0)
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.pause(0.3)
        assert app.bar is not None and app.bar.is_mounted
        assert "REPLAY playing" in app.bar.text
        assert app.main().mode.startswith("replay · incident.postaltop.gz · compromised-credential")
        started = len(app.engine.store)
        assert started < len(original.store)
        await pilot.press("space")
        assert app.controller.paused
        position = app.controller.position
        await pilot.pause(0.4)
        assert app.controller.position == position
        assert "REPLAY PAUSED" in app.bar.text
        await pilot.press("right_square_bracket")  # +5 minutes, fed at once
        await pilot.pause(0.5)
        assert app.controller.position == min(recording.end, position + 300)
        assert len(app.engine.store) > started
        await pilot.press("plus")
        assert app.controller.speed == 2.0
        for _ in range(3):
            await pilot.press("right_square_bracket")
        await pilot.pause(1.0)
        assert app.controller.finished
        assert len(app.engine.store) == len(original.store)
        assert "100%" in app.bar.text
        await pilot.press("left_square_bracket")  # back: the app restarts the replay earlier
        await pilot.pause(0.2)
    assert app.return_code == RESTART
    assert app.controller.restart_at == recording.end - 300


def test_replay_bar_text() -> None:
    text = replay_text(
        position=1_790_000_000.0, progress=0.5, speed=60, paused=False, finished=False, alerts=["A — B"]
    )
    assert text.startswith("REPLAY playing 2026-09-21 14:13:20 UTC ████████████░░░░░░░░░░░░  50% x60")
    assert "recorded alerts firing: 1 (A — B)" in text
