"""The host bar shows each host's Postal version state when the app provides it (the demo does)."""

from __future__ import annotations

from postaltop.core.versions import demo_host_versions
from postaltop.sources.host_version import load_release_table
from postaltop.ui.widgets.host_bar import HostBar, HostChip
from tests.ui import make_app, make_engine


async def test_demo_versions_appear_on_the_chips() -> None:
    engine = make_engine()
    for name in ("mx1", "mx2", "mx3"):
        engine.set_host(name, "demo")
    app = make_app(engine, mode="demo")
    app.host_versions = {v.host: v.status.short() for v in demo_host_versions(load_release_table())}  # type: ignore[attr-defined]
    async with app.run_test(size=(120, 36)) as pilot:
        app.main().sync()
        await pilot.pause()
        chips = {c.host_name: c.render().plain for c in app.main().query(HostChip)}  # type: ignore[attr-defined]
        assert chips["mx3"].endswith("v3.3.5 -1 !sec"), chips
        assert chips["mx1"].endswith("v3.3.6"), chips
        # a later reading (e.g. `postaltop versions` over SSH) replaces the text
        app.main().query_one(HostBar).show_versions({"mx1": "v3.3.4 -2 !sec"})
        app.main().sync()
        await pilot.pause()
        chips = {c.host_name: c.render().plain for c in app.main().query(HostChip)}  # type: ignore[attr-defined]
        assert chips["mx1"].endswith("v3.3.4 -2 !sec"), chips


async def test_without_versions_the_chips_are_unchanged() -> None:
    engine = make_engine()
    engine.set_host("mx1", "demo")
    app = make_app(engine, mode="demo")
    async with app.run_test(size=(120, 36)) as pilot:
        app.main().sync()
        await pilot.pause()
        (chip,) = app.main().query(HostChip)
        assert "v3" not in chip.render().plain  # type: ignore[attr-defined]
