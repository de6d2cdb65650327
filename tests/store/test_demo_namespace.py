"""Demo state lives apart from real state: audit ids, reviews and filters never mix with real ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from postaltop import locations
from postaltop.cli import main
from postaltop.core.review.window import Window
from postaltop.store.audit import AuditRecord, AuditStore
from postaltop.store.filters import FilterState, load_filter_state, save_filter_state
from postaltop.store.reviews import ReviewStore


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


def record(action: str, *, demo: bool) -> AuditRecord:
    return AuditRecord(action, "acme/transactional", {}, action, [], "ok", demo=demo)


def test_demo_audit_trail_is_a_separate_file_with_its_own_ids(
    xdg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with locations.namespace(locations.DEMO_NAMESPACE):
        demo_ids = [AuditStore().append(record(f"demo-{i}", demo=True)).id for i in range(4)]
        assert locations.data_dir() == xdg / "xdg_data_home" / "postaltop" / "demo"
    assert locations.current_namespace() == ""
    real = AuditStore().append(record("hold_credential", demo=False))
    assert demo_ids == [1, 2, 3, 4] and real.id == 1  # the first real action is #1
    assert [r.action for r in AuditStore().list()] == ["hold_credential"]

    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "hold_credential" in out and "demo-" not in out
    assert main(["audit", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "demo-3" in out and "hold_credential" not in out


def test_demo_filters_and_reviews_do_not_reach_real_state(xdg: Path) -> None:
    window = Window(1777366800.0, 1777366800.0 + 3600)
    with locations.namespace(locations.DEMO_NAMESPACE):
        save_filter_state(FilterState(last="host:mx9", history=["host:mx9"]))
        ReviewStore().create("alice", window, [], "demo (brute-force, seed 1)", ["failed-auth"])
    assert load_filter_state().last == ""
    assert ReviewStore().last_unfinished() is None
    with locations.namespace(locations.DEMO_NAMESPACE):
        assert load_filter_state().last == "host:mx9"
        found = ReviewStore().last_unfinished()
        assert found is not None and found.source.startswith("demo")


def test_the_namespace_is_restored_after_an_error(xdg: Path) -> None:
    with pytest.raises(RuntimeError), locations.namespace(locations.DEMO_NAMESPACE):
        raise RuntimeError("boom")
    assert locations.current_namespace() == ""
    assert locations.data_dir().name == "postaltop"
