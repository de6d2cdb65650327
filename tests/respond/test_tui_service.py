"""The TUI gets its response service from the runtime: only with policies and something to act on."""

from __future__ import annotations

from pathlib import Path

from postaltop.commands.tui import app_for
from postaltop.config import load_settings
from postaltop.runtime import RuntimeOptions, build_runtime
from postaltop.runtime.respond import PromptedResponses, prompted_responses

POLICY = '[[respond]]\nname = "hold"\naction = "credential-hold"\nmode = "act"\n'


def runtime(tmp_path: Path, toml: str, mode: str = "demo"):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return build_runtime(load_settings(path, environ={}), RuntimeOptions(mode=mode, persist_filters=False))  # type: ignore[arg-type]


def test_the_demo_tui_runs_the_configured_policies_and_knows_their_kill_file(tmp_path: Path) -> None:
    run = runtime(tmp_path, POLICY + f'[respond_control]\nkill_file = "{tmp_path / "stop"}"\n')
    service = prompted_responses(run)
    assert isinstance(service, PromptedResponses)
    assert [p.name for p in service.policies] == ["hold"]
    assert service.actions is run.actions and not service.killed()
    (tmp_path / "stop").touch()
    assert service.killed()
    app = app_for(run, run_engine=False)
    assert app.responses is not None


def test_no_service_without_policies_or_without_anything_to_act_on(tmp_path: Path) -> None:
    assert prompted_responses(runtime(tmp_path, "")) is None
    live_without_database = runtime(tmp_path, POLICY, mode="live")
    assert live_without_database.actions is None
    assert prompted_responses(live_without_database) is None
