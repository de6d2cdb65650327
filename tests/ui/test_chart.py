"""The rate chart and alert list on a compromised-credential run: keys, prompts, and their snapshots."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult

from postaltop.core.alerts import Scope, ScopeKind
from postaltop.monitoring import Monitor
from postaltop.ui.app import PostaltopApp
from postaltop.ui.widgets.alert_list import AlertList
from postaltop.ui.widgets.alert_prompts import AckPrompt, SilencePrompt, parse_duration
from postaltop.ui.widgets.rate_chart import WINDOWS, RateChart
from tests.detect.scenario_run import Run, run_scenario
from tests.ui import make_app

SnapCompare = Callable[..., bool]
_RUN: Run | None = None


def attack() -> Run:
    global _RUN
    if _RUN is None:
        _RUN = run_scenario("compromised-credential", 14)
    return _RUN


class DetectionApp(App[None]):
    """The two widgets alone, shown, for snapshots."""

    def __init__(self, monitor: Monitor, scope: Scope) -> None:
        super().__init__()
        self.monitor = monitor
        self.scope = scope

    def compose(self) -> ComposeResult:
        chart = RateChart(self.monitor)
        chart.scope = self.scope
        chart.add_class("-shown")
        chart.styles.height = 22
        yield chart
        alerts = AlertList(self.monitor, clock=self.monitor.now)
        alerts.add_class("-shown")
        yield alerts


def test_parse_duration() -> None:
    assert parse_duration("30m") == 1800 and parse_duration("2h") == 7200 and parse_duration("15") == 900
    assert parse_duration("0m") is None and parse_duration("40d") is None and parse_duration("soon") is None


def test_chart_snapshot(snap_compare: SnapCompare) -> None:
    run = attack()
    app = DetectionApp(run.monitor, Scope(ScopeKind.SERVER, "acme/transactional"))
    assert snap_compare(app, terminal_size=(130, 36))


def test_alert_list_snapshot_after_ack_and_silence(snap_compare: SnapCompare) -> None:
    run = run_scenario("compromised-credential", 14)
    monitor = run.monitor
    cred = next(a for a in monitor.alerts if a.scope.kind is ScopeKind.CREDENTIAL)
    monitor.acknowledge(cred.key, "holding the key, calling acme", author="ana")
    monitor.silence("*|domain:*", 3600, "domain views are noisy today", author="ana")
    app = DetectionApp(monitor, cred.scope)
    assert snap_compare(app, terminal_size=(130, 36))


def incident_app() -> tuple[Run, PostaltopApp]:
    """The main screen over the compromised-credential scenario, 14 simulated minutes in."""
    run = run_scenario("compromised-credential", 14)
    assert run.engine is not None
    return run, make_app(run.engine, monitor=run.monitor)


async def test_keys_on_main_screen_chart_alerts_ack_silence() -> None:
    run, app = incident_app()
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause()
        main = app.main()
        chart, alerts = main.query_one(RateChart), main.query_one(AlertList)
        assert chart.display and alerts.display  # a large terminal shows both at start
        await pilot.press("c")
        await pilot.pause()
        assert not chart.display
        await pilot.press("c")
        await pilot.pause()
        assert chart.display and chart.redraws >= 1
        before = chart.window_index
        await pilot.press("w")
        assert chart.window_index == (before + 1) % len(WINDOWS)
        await pilot.press("a")
        await pilot.pause()
        assert alerts.display and alerts.selected is not None
        first = alerts.selected
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, AckPrompt)
        await pilot.press(*"on it", "enter")
        await pilot.pause()
        acked = run.monitor.alerts_manager.get(first.key)
        assert acked is not None and acked.ack is not None and acked.ack.comment == "on it"
        await pilot.press("S")
        await pilot.pause()
        assert isinstance(app.screen, SilencePrompt)
        await pilot.press("enter", *"maintenance", "enter")
        await pilot.pause()
        silenced = run.monitor.alerts_manager.get(first.key)
        assert silenced is not None and silenced.silenced and silenced.silence is not None
        assert silenced.silence.reason == "maintenance"
        # the log panel marks lines that raised alerts (none in this scenario come from log facts)
        assert main.panel.marker is not None


async def test_chart_redraw_is_throttled() -> None:
    run = attack()
    app = DetectionApp(run.monitor, Scope(ScopeKind.SERVER, "acme/transactional"))
    async with app.run_test(size=(130, 36)) as pilot:
        chart = app.query_one(RateChart)
        await pilot.pause()
        drawn = chart.redraws
        await pilot.pause(1.2)
        assert chart.redraws == drawn  # no new data: no redraw
        run.monitor._now += 60
        await pilot.pause(0.7)
        assert chart.redraws == drawn + 1


async def test_critical_alert_toasts_even_when_the_list_is_hidden() -> None:
    from postaltop.core.alerts import Finding, Severity

    monitor = Monitor()
    app = DetectionApp(monitor, Scope(ScopeKind.SERVER, "acme/app"))
    async with app.run_test(size=(130, 36)) as pilot:
        scope = Scope(ScopeKind.CREDENTIAL, "7", "main smtp")
        finding = Finding("zscore", scope, "sent", Severity.CRITICAL, 400.0, 30.0, "sent 400/min", 100.0)
        monitor.alerts_manager.observe([finding], 100.0)
        monitor.alerts_manager.observe([finding], 101.0)  # an update: no second toast
        await pilot.pause()
        texts = [n.message for n in app._notifications]
        assert len(texts) == 1 and "main smtp" in texts[0] and "sent 400/min" in texts[0]


async def test_small_terminal_starts_with_the_chart_and_alerts_hidden() -> None:
    _run, app = incident_app()
    async with app.run_test(size=(90, 30)) as pilot:
        await pilot.pause()
        main = app.main()
        chart, alerts = main.query_one(RateChart), main.query_one(AlertList)
        assert not chart.display and not alerts.display
        await pilot.press("a")
        await pilot.pause()
        assert alerts.display and alerts.has_focus
        await pilot.press("a")
        await pilot.pause()
        assert not alerts.display and main.panel.has_focus
