"""The first frame: the chrome is on screen before the run is built and before any source produced data."""

from __future__ import annotations

import asyncio

from postaltop.config import UiConfig
from postaltop.engine import Engine
from postaltop.ui.app import AppParts, Boot, PostaltopApp
from postaltop.ui.screens.main import MainScreen
from postaltop.ui.screens.start import NOT_CONNECTED, StartScreen
from postaltop.ui.widgets.host_bar import HostChip
from postaltop.ui.widgets.log_panel import LogPanel
from tests.ui import make_engine, sim_lines

SIZE = (120, 36)
MESSAGE = "Connecting to 2 hosts and the database…"


class Probe:
    """A boot whose build records what the screen showed when it was called, and a source that waits."""

    def __init__(self) -> None:
        self.app: PostaltopApp | None = None
        self.seen: dict[str, object] = {}
        self.engine: Engine = make_engine()
        self.release = asyncio.Event()
        self.sourced = 0

    def build(self) -> AppParts:
        app = self.app
        assert app is not None
        screen = app.screen
        self.seen = {
            "screen": type(screen).__name__,
            "chips": sorted((c.host_name, c.text) for c in screen.query(HostChip)),
            "mode": str(screen.query_one("#mode").render()),
            "panel": str(screen.query_one("#start-panel").render()),
            "filter": [w.id for w in screen.query("#filter-bar")],
            "status": str(screen.query_one("#status-line").render()),
            "frame": app.export_screenshot(),
            "ingested": self.engine.stats.ingested,
        }
        return AppParts(self.engine, mode="monitor", sources=[self.source], placeholder="Waiting for lines…")

    async def source(self) -> None:
        await self.release.wait()
        lines = [s.line for s in sim_lines(5)]
        self.sourced = len(lines)
        await self.engine.submit("mx1", "smtp", lines)


async def test_the_first_frame_shows_the_chrome_before_the_run_exists() -> None:
    probe = Probe()
    boot = Boot("monitor", ("mx1", "mx2"), MESSAGE, probe.build)
    app = PostaltopApp(None, ui=UiConfig(), boot=boot)
    probe.app = app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        seen = probe.seen
        # built once the frame was on screen, from the start screen, with nothing ingested yet
        assert seen["screen"] == StartScreen.__name__
        assert seen["ingested"] == 0
        assert seen["chips"] == [("mx1", f"● mx1 {NOT_CONNECTED} 0/s"), ("mx2", f"● mx2 {NOT_CONNECTED} 0/s")]
        assert seen["mode"] == "monitor"
        assert seen["panel"] == MESSAGE
        assert seen["filter"] == ["filter-bar"]
        assert "following" in str(seen["status"])
        frame = str(seen["frame"])
        for text in ("postaltop", "mx1", "Connecting", "filter", "lines", "retained"):
            assert text in frame, text
        # then the main screen takes its place, still empty until the source produces
        assert isinstance(app.screen, MainScreen)
        assert app.main().panel.placeholder == "Waiting for lines…"
        assert len(probe.engine.store) == 0
        probe.release.set()
        for _ in range(50):
            await pilot.pause(0.02)
            if len(probe.engine.store) == probe.sourced:
                break
        app.main().sync()
        await pilot.pause()
        assert probe.sourced and len(probe.engine.store) == probe.sourced
        assert len(app.main().query_one(LogPanel).view) == probe.sourced


async def test_a_failing_build_ends_the_app_and_keeps_the_error() -> None:
    def build() -> AppParts:
        raise OSError("cannot create the recording")

    app = PostaltopApp(None, boot=Boot("demo", (), "Starting…", build))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    assert app.return_code == 1
    assert isinstance(app.boot_error, OSError)
