"""The incident screen as an operator works it: the alert list (long scopes, stable selection, ack and
silence visible on the row), the alert detail, a source-down alert, the actions form, at 100x30 and 160x45.

Regenerate the snapshots after an intended change with ``--snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from postaltop.config import ActionsConfig
from postaltop.core.alerts import Finding, Scope, ScopeKind, Severity
from postaltop.detection_run import Run, run_scenario
from postaltop.monitoring import SOURCE_DOWN_GRACE
from postaltop.runtime.actions import demo_actions
from postaltop.ui.app import PostaltopApp
from postaltop.ui.screens.actions import ActionsScreen
from postaltop.ui.screens.alert_detail import AlertDetailScreen
from postaltop.ui.widgets.alert_list import AlertList
from postaltop.ui.widgets.alert_prompts import AckPrompt, SilencePrompt
from postaltop.ui.widgets.alert_rows import alert_line
from postaltop.ui.widgets.host_bar import HostBar
from postaltop.ui.widgets.rate_chart import RateChart
from tests.ui import make_app

SnapCompare = Callable[..., bool]
SIZES = [(100, 30), (160, 45)]

LONG_SCOPES = [
    (Scope(ScopeKind.SERVER, "acme-holdings-international/transactional-eu-west-1"), "sent", 412.0, 38.0),
    (Scope(ScopeKind.CREDENTIAL, "17", "marketing-campaigns-newsletter-smtp-relay"), "sent", 260.0, 12.0),
    (Scope(ScopeKind.DOMAIN, "very-long-recipient-domain-name.example.co.uk"), "sent", 95.0, 4.0),
]


def incident(scenario: str = "compromised-credential", minutes: float = 14) -> Run:
    """A scenario run whose monitor's real-time clock is frozen (snapshots do not depend on test speed)."""
    run = run_scenario(scenario, minutes)
    run.monitor.wall = lambda: 0.0
    return run


def with_long_scopes(run: Run) -> Run:
    monitor = run.monitor
    now = monitor.now
    for scope, metric, observed, expected in LONG_SCOPES:
        why = f"{metric} {observed:.0f}/min vs {expected:.0f}/min expected"
        finding = Finding("zscore", scope, metric, Severity.CRITICAL, observed, expected, why, now)
        monitor.alerts_manager.observe([finding], now)
    return run


def with_source_down(run: Run) -> Run:
    assert run.engine is not None
    run.engine.set_host("mx1", "reconnecting (attempt 3, next in 8s): connection refused")
    now = run.monitor.now
    run.monitor.check_sources(now)
    run.monitor.check_sources(now + SOURCE_DOWN_GRACE)
    return run


def app_of(run: Run, actions: bool = False) -> PostaltopApp:
    assert run.engine is not None
    service = demo_actions(run.fleet, ActionsConfig()) if actions else None
    return make_app(run.engine, mode="test · incident", monitor=run.monitor, actions=service)


async def open_list(pilot: Pilot[Any]) -> AlertList:
    app: PostaltopApp = pilot.app  # type: ignore[assignment]
    app.main().sync()
    await pilot.pause()
    alerts = app.main().query_one(AlertList)
    if not alerts.has_focus:
        await pilot.press("a")
    await pilot.pause(0.6)
    assert alerts.has_focus
    return alerts


# -- snapshots -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x45"])
def test_alert_list_with_long_scopes(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(app_of(with_long_scopes(incident())), terminal_size=size, run_before=open_list)


@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x45"])
def test_alert_detail_open(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_list(pilot)
        await pilot.press("enter")
        await pilot.pause(0.6)

    assert snap_compare(app_of(incident()), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x45"])
def test_source_down_alert(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    run = with_source_down(incident("brute-force"))
    assert snap_compare(app_of(run), terminal_size=size, run_before=open_list)


@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x45"])
def test_actions_form(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await open_list(pilot)
        await pilot.press("x")
        await pilot.pause(0.3)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the snapshot depend on timing
        await pilot.pause()

    assert snap_compare(app_of(incident(), actions=True), terminal_size=size, run_before=before)


# -- behaviour ------------------------------------------------------------------------------------


async def test_selection_follows_the_alert_when_the_list_resorts_and_x_acts_on_it() -> None:
    run = incident()
    app = app_of(run, actions=True)
    async with app.run_test(size=(120, 35)) as pilot:
        alerts = await open_list(pilot)
        await pilot.press(*["down"] * 30)  # the last row: a warning, below every critical alert
        chosen = alerts.selected
        assert chosen is not None and alerts.index == len(alerts.alerts) - 1 > 0
        before = alerts.index
        # a new critical alert sorts above it: the rows move, the selection does not
        now = run.monitor.now
        scope = Scope(ScopeKind.CREDENTIAL, "99", "a brand new credential")
        finding = Finding("zscore", scope, "sent", Severity.CRITICAL, 900.0, 10.0, "sent 900/min", now)
        run.monitor.alerts_manager.observe([finding], now)
        alerts.refresh_lines()
        keys = [a.key for a in alerts.alerts]
        assert keys.index(finding.key) < keys.index(chosen.key)
        assert alerts.selected is not None and alerts.selected.key == chosen.key
        assert alerts.index == before + 1
        await pilot.press("x")
        await pilot.pause()
        menu = app.screen
        assert isinstance(menu, ActionsScreen)
        if chosen.scope.kind is ScopeKind.CREDENTIAL:
            assert menu.query_one("#actions-credential", Input).value == chosen.scope.key
        elif chosen.scope.kind is ScopeKind.SERVER:
            assert menu.query_one("#actions-server", Input).value == chosen.scope.key


async def test_ack_and_silence_show_on_the_row_and_the_footer_shows_the_keys() -> None:
    run = incident()
    app = app_of(run)
    async with app.run_test(size=(120, 35)) as pilot:
        alerts = await open_list(pilot)
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"A", "S", "enter"} <= shown
        first = alerts.selected
        assert first is not None
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, AckPrompt)
        await pilot.press(*"calling acme", "enter")
        await pilot.pause()
        row = alert_line(run.monitor.alerts_manager.get(first.key), run.monitor.now, width=80)  # type: ignore[arg-type]
        assert row.plain.rstrip().endswith("acked")
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SilencePrompt)
        await pilot.press("enter", *"known campaign", "enter")
        await pilot.pause()
        row = alert_line(run.monitor.alerts_manager.get(first.key), run.monitor.now, width=80)  # type: ignore[arg-type]
        assert row.plain.rstrip().endswith("ack+sil")
        rendered = str(alerts.query_one("#alert-lines").render())
        assert "ack+sil" in rendered


async def test_enter_opens_the_detail_with_why_chart_history_and_one_key_actions() -> None:
    run = incident()
    app = app_of(run, actions=True)
    async with app.run_test(size=(120, 35)) as pilot:
        alerts = await open_list(pilot)
        alert = alerts.selected
        assert alert is not None
        await pilot.press("enter")
        await pilot.pause(0.3)
        detail = app.screen
        assert isinstance(detail, AlertDetailScreen) and detail.key == alert.key
        chart = detail.query_one(RateChart)
        assert (chart.scope, chart.metric) == (alert.scope, alert.metric)
        assert run.monitor.has_series(alert.scope, alert.metric)
        texts = {sid: str(detail.query_one(f"#{sid}").render()) for sid in ("alert-why", "alert-history")}
        assert alert.why in texts["alert-why"] and "fired" in texts["alert-history"]
        await pilot.press("A")
        await pilot.pause()
        await pilot.press(*"on it", "enter")
        await pilot.pause()
        assert "acknowledged" in str(detail.query_one("#alert-history").render())
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, ActionsScreen)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main()


async def test_a_down_source_is_an_alert_and_never_all_normal() -> None:
    run = incident("brute-force")
    assert run.engine is not None
    app = app_of(run)
    async with app.run_test(size=(120, 35)) as pilot:
        alerts = await open_list(pilot)
        run.engine.set_host("mx1", "reconnecting (attempt 2, next in 4s): connection refused")
        run.engine.set_host("db", "error: unreachable 127.0.0.1:3306 (retrying in 5 s)")
        await pilot.pause(1.3)  # the screen's once-a-second tick checks the sources
        held = [a for a in alerts.alerts if a.source == "mx1" and a.is_open]
        assert held and all(a.inhibited for a in held)
        chips = {c.host_name: c.text for c in app.main().query("HostChip")}  # type: ignore[attr-defined]
        assert "connection refused" in chips["mx1"]
        run.monitor.check_sources(run.monitor.source_clock() + SOURCE_DOWN_GRACE)
        alerts.refresh_lines()
        down = {a.scope.key: a for a in alerts.alerts if a.kind == "source_down"}
        assert set(down) == {"mx1", "db"} and "connection refused" in down["mx1"].why
        rendered = str(alerts.query_one("#alert-lines").render())
        assert "connection refused" in rendered and "held" in rendered
        # nothing else firing: the empty list still names the sources that are down
        run.monitor.alerts_manager._alerts.clear()
        alerts.refresh_lines()
        empty = str(alerts.query_one("#alert-lines").render())
        assert (
            "normal band" not in empty and "2 sources down" in empty and "mx1 (connection refused)" in empty
        )


async def test_host_bar_with_fifty_hosts_groups_by_state() -> None:
    from tests.ui import make_engine

    engine = make_engine()
    for i in range(50):
        engine.set_host(f"mx{i:02d}", "connected ·3")
    engine.set_host("mx07", "reconnecting (attempt 5, next in 30s): connection refused")
    engine.set_host("mx21", "auth failed")
    engine.set_host("mx33", "HOST KEY CHANGED SHA256:0f9a (refused)")
    engine.set_host("mx40", "connecting")
    for width in (160, 100):
        app = make_app(engine)
        async with app.run_test(size=(width, 30)) as pilot:
            app.main().sync()
            await pilot.pause()
            bar = app.main().query_one(HostBar)
            visible = [c for c in bar.children if c.display and c.region.width > 0]
            assert all(c.region.right <= width for c in visible)
            texts = [getattr(c, "text", "") for c in visible][1:-1]  # between the app name and the mode
            problems = [t for t in texts if t.startswith("● mx")]
            if width == 160:  # the hosts with a problem first, each with its reason
                assert problems == [
                    "● mx07 connection refused",
                    "● mx21 authentication refused",
                    "● mx33 host key changed (refused)",
                ]
            else:  # no room for the reasons: by name (red), the alert list says why
                assert problems == ["● mx07", "● mx21", "● mx33"]
            assert "● 46 ok 0/s" in texts and "◌ 1 connecting" in texts


async def test_at_80_columns_every_demo_chip_is_whole() -> None:
    from postaltop.core.versions import demo_host_versions
    from postaltop.sources.host_version import load_release_table
    from tests.ui import make_engine

    engine = make_engine()
    for name in ("mx1", "mx2", "mx3"):
        engine.set_host(name, "demo")
    app = make_app(engine, mode="demo · normal · seed 1")
    app.host_versions = {v.host: v.status.short() for v in demo_host_versions(load_release_table())}
    async with app.run_test(size=(80, 24)) as pilot:
        app.main().sync()
        await pilot.pause()
        chips = {c.host_name: c for c in app.main().query("HostChip")}  # type: ignore[attr-defined]
        assert all(c.region.right <= 80 and c.region.width == len(c.text) + 2 for c in chips.values())
        assert chips["mx3"].text == "● mx3 0/s !sec"


async def test_palette_offers_only_shipped_themes_and_one_quit() -> None:
    from postaltop.ui.commands import PostaltopCommands
    from tests.ui import make_engine

    app = make_app(make_engine())
    async with app.run_test(size=(100, 30)):
        system = [c.title for c in app.get_system_commands(app.screen)]
        provider = PostaltopCommands(app.screen)
        ours = [title for title, _, _ in provider._commands()]
    titles = system + ours
    assert titles.count("Quit") == 1 and "Theme" not in system
    themes = sorted(t for t in titles if t.startswith("Theme"))
    assert themes == ["Theme: colorblind", "Theme: dark", "Theme: light"]


def test_help_covers_every_screen() -> None:
    from postaltop.ui.screens.help import help_sections

    titles = " | ".join(title for title, _ in help_sections({}))
    for part in ("Servers table", "Alert list", "Alert detail", "Replay", "Log review", "Actions menu"):
        assert part in titles
    rows = {title: rows for title, rows in help_sections({})}
    replay = next(r for t, r in rows.items() if t.startswith("Replay"))
    assert {"replay.pause", "replay.forward"} <= {i for _, _, i in replay}
