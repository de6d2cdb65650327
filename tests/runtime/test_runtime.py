"""The runtime's assembly per mode and its reload, without running the sources."""

from __future__ import annotations

from pathlib import Path

from postaltop.config import load_settings
from postaltop.runtime import RuntimeOptions, build_runtime

CONFIG = """
[database]
host = "127.0.0.1"
user = "postal"

[actions]
enabled = {enabled}

[detection]
z_warning = {z}
"""


def write(path: Path, *, enabled: bool, z: float) -> Path:
    path.write_text(CONFIG.format(enabled=str(enabled).lower(), z=z))
    path.chmod(0o600)
    return path


def test_live_assembly_from_settings(tmp_path: Path) -> None:
    loaded = load_settings(write(tmp_path / "postaltop.toml", enabled=False, z=3.0))
    runtime = build_runtime(loaded, RuntimeOptions(mode="live", persist_filters=False))
    assert [s.name for s in runtime.sources] == ["database"]  # no [[hosts]]: no log streams
    assert runtime.monitor is not None and runtime.monitor.config.z_warning == 3.0
    assert runtime.monitor.has_state_provider  # the state at connect is read from the database
    assert runtime.actions is not None and not runtime.actions.demo and not runtime.actions.enabled
    assert runtime.message_lookup is not None and runtime.filters is None
    runtime.stop()


def test_demo_assembly_acts_on_the_simulation() -> None:
    loaded = load_settings(None, environ={})
    runtime = build_runtime(loaded, RuntimeOptions(mode="demo", scenario="bounce-storm", seed=2))
    assert [s.name for s in runtime.sources] == ["demo-logs", "demo-metrics", "demo-auth-history"]
    assert runtime.label == "demo · bounce-storm · seed 2"
    assert runtime.actions is not None and runtime.actions.demo and runtime.actions.enabled
    assert runtime.message_lookup is None and runtime.fleet is not None
    assert set(runtime.engine.hosts) == {"mx1", "mx2", "mx3"}
    runtime.stop()


def test_reload_applies_actions_and_reports_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path / "postaltop.toml", enabled=False, z=3.0)
    runtime = build_runtime(load_settings(path), RuntimeOptions(mode="live", persist_filters=False))
    write(path, enabled=True, z=4.0)
    done = runtime.reload()
    assert done.error is None and done.applied == ("actions",) and done.restart_needed == ("detection",)
    assert runtime.actions is not None and runtime.actions.enabled  # writes allowed from now on
    assert runtime.settings.actions.enabled and runtime.settings.detection.z_warning == 3.0  # still running
    path.write_text("[actions\n")
    broken = runtime.reload()
    assert broken.error is not None and "postaltop.toml" in broken.error and runtime.actions.enabled
    runtime.stop()
