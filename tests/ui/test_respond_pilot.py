"""The TUI runs the response policies and asks before anything: confirm, decline, the kill switch, undo.

The incident is the compromised-credential scenario run for 14 simulated minutes (its rate and its new
recipient domains both alert on ``main smtp``); the policy is the runbook's two-detector credential hold in
``act`` mode, which the TUI still only proposes. Actions go to the demo simulator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from postaltop.config import ActionsConfig
from postaltop.core.respond import ResponseDecider, ResponseMode, ResponsePolicy
from postaltop.core.respond.prompt import Verdict
from postaltop.detection_run import Run, run_scenario
from postaltop.runtime.actions import demo_actions
from postaltop.runtime.respond import PromptedResponses
from postaltop.sources.response_runner import KillSwitch
from postaltop.ui.app import PostaltopApp
from postaltop.ui.screens.action_preview import ActionPreviewScreen
from postaltop.ui.screens.alert_detail import AlertDetailScreen
from postaltop.ui.widgets.response_bar import ResponseBar
from tests.ui import make_app

SIZE = (120, 35)
POLICY = ResponsePolicy(
    name="hold-leaked-credential",
    action="credential-hold",
    kinds=("zscore", "novelty"),
    agree=2,
    firing_for=60.0,
    mode=ResponseMode.ACT,
)


def incident() -> Run:
    """The scenario 14 minutes in, its monitor's real-time clock frozen (snapshots do not depend on speed)."""
    run = run_scenario("compromised-credential", 14)
    run.monitor.wall = lambda: 0.0
    return run


def responding_app(run: Run, stop_file: Path) -> tuple[PostaltopApp, PromptedResponses]:
    assert run.engine is not None
    decider = ResponseDecider([POLICY], lambda _alert: "acme/transactional")
    service = PromptedResponses(
        decider, demo_actions(run.fleet, ActionsConfig()), KillSwitch(False, stop_file), wall=lambda: 0.0
    )
    app = make_app(
        run.engine, mode="demo · compromised-credential", monitor=run.monitor, actions=service.actions,
        responses=service,
    )  # fmt: skip
    return app, service


def held(run: Run) -> bool:
    return bool(run.fleet.installation.server("acme/transactional").credential("main smtp").hold)


@asynccontextmanager
async def running(run: Run, stop_file: Path) -> AsyncIterator[tuple[PostaltopApp, PromptedResponses, Any]]:
    app, service = responding_app(run, stop_file)
    async with app.run_test(size=SIZE) as pilot:
        app.main().sync()
        await pilot.pause()
        yield app, service, pilot


async def ask(app: PostaltopApp, pilot: Any) -> ResponseBar:
    """One review by the policies now (the bar also reviews every second)."""
    bar = app.main().response_bar
    bar.review()
    await pilot.pause()
    return bar


async def open_response(app: PostaltopApp, pilot: Any) -> ActionPreviewScreen:
    await pilot.press("r")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, ActionPreviewScreen), app.screen_stack_names()
    return app.screen


def footer_keys(app: PostaltopApp) -> set[str]:
    return {b.key for (_, b, enabled, _) in app.main().active_bindings.values() if enabled and b.show}


async def test_an_act_policy_asks_first_and_confirming_holds_the_credential_audited_and_undoable(
    tmp_path: Path,
) -> None:
    run = incident()
    async with running(run, tmp_path / "stop") as (app, service, pilot):
        bar = await ask(app, pilot)
        [pending] = service.pending
        assert bar.has_class("-pending") and "main smtp" in str(bar.render())
        assert "r" in footer_keys(app)
        assert not held(run), "an act policy must not run anything before the operator confirms"
        preview = await open_response(app, pilot)
        body = str(preview.query_one("#preview-text", Static).render())
        assert "Automatic response (policy 'hold-leaked-credential'" in body
        assert "Hold credential" in body
        assert not held(run)
        await pilot.press("y", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert held(run)
        await pilot.press("escape")
        await pilot.pause()
        assert not bar.has_class("-pending") and service.pending == []
        [answer] = service.answers
        assert answer.verdict is Verdict.CONFIRMED and answer.audit_id is not None
        [entry] = [e for e in service.actions.audit_trail() if e.id == answer.audit_id]
        assert entry.targets["policy"] == "hold-leaked-credential"  # type: ignore[attr-defined]
        assert entry.targets["alert"] == pending.alert_key  # type: ignore[attr-defined]
        await pilot.press("u")  # the automatic action is undone like any other
        await app.workers.wait_for_complete()
        await pilot.pause()
        undo = app.screen
        assert isinstance(undo, ActionPreviewScreen) and undo.plan.undo_of == answer.audit_id
        await pilot.press(*f"undo {answer.audit_id}", "enter")
        await app.workers.wait_for_complete()
        assert not held(run)


async def test_declining_changes_nothing_and_is_not_asked_again_within_the_cooldown(tmp_path: Path) -> None:
    run = incident()
    async with running(run, tmp_path / "stop") as (app, service, pilot):
        await ask(app, pilot)
        assert len(service.pending) == 1
        await open_response(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not held(run)
        assert [a.verdict for a in service.answers] == [Verdict.DECLINED]
        assert service.actions.audit_trail() == []
        bar = await ask(app, pilot)
        assert service.pending == [] and not bar.has_class("-pending")
        assert "r" not in footer_keys(app), "r is offered only while a response is pending"
        assert any("declined by the operator" in why for why in service.decider.waiting.values())
        # once the cooldown has passed, the same incident (still firing) is asked about again
        later = run.monitor.now + POLICY.cooldown + 1
        assert len(service.review(run.monitor.alerts, later)) == 1


async def test_the_kill_switch_means_no_prompt_and_stops_a_confirmation_in_flight(tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    run = incident()
    async with running(run, stop) as (app, service, pilot):
        await ask(app, pilot)
        preview = await open_response(app, pilot)
        stop.touch()  # thrown while the operator reads the preview
        await pilot.press("y", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not held(run)
        assert "kill switch" in str(preview.query_one("#preview-result", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert [a.verdict for a in service.answers] == [Verdict.LAPSED], "stopped, not declined"
    run = incident()
    async with running(run, stop) as (app, service, pilot):
        bar = await ask(app, pilot)
        assert service.pending == [] and not bar.has_class("-pending")
        assert service.answers and {a.verdict for a in service.answers} == {Verdict.HELD_BACK}
        assert all("kill switch" in a.detail for a in service.answers)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, ActionPreviewScreen)
        assert not held(run)


async def test_the_alert_detail_shows_the_pending_response_and_r_answers_it(tmp_path: Path) -> None:
    run = incident()
    async with running(run, tmp_path / "stop") as (app, service, pilot):
        await ask(app, pilot)
        [pending] = service.pending
        app.push_screen(
            AlertDetailScreen(
                run.monitor,
                pending.alert_key,
                responses=service,
                on_respond=app.main().response_bar.open_next,
            )
        )
        await pilot.pause()
        detail = app.screen
        text = str(detail.query_one("#alert-response", Static).render())
        assert "PENDING" in text and "hold-leaked-credential" in text
        await open_response(app, pilot)
        for field in app.screen.query(Input):
            assert field.placeholder.endswith("Escape declines")
