"""Every file postaltop writes is 0600 in directories it creates 0700, whatever the umask or an old mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from postaltop import locations
from postaltop.private_files import open_private_text, private_dir, write_private_text
from postaltop.recording.file import Recorder
from postaltop.store.audit import AuditRecord, AuditStore
from postaltop.store.baselines import open_private
from postaltop.store.filters import FilterState, save_filter_state


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The most permissive umask: nothing may rely on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _old_world_readable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("old\n")
    path.chmod(0o644)
    return path


def test_new_directories_are_0700_and_parents_too(tmp_path: Path) -> None:
    target = private_dir(tmp_path / "a" / "b" / "c")
    assert [_mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    private_dir(shared)
    assert _mode(shared) == 0o755  # a directory the user chose is left alone
    own = locations.ensure_dir(shared)
    assert _mode(own) == 0o700  # postaltop's own state directory is made private


def test_writing_over_an_existing_0644_file_makes_it_0600(tmp_path: Path) -> None:
    path = _old_world_readable(tmp_path / "out" / "report.html")
    write_private_text(path, "<html></html>")
    assert _mode(path) == 0o600 and path.read_text() == "<html></html>"
    log = _old_world_readable(tmp_path / "dead.jsonl")
    with open_private_text(log, "a") as out:
        out.write("x\n")
    assert _mode(log) == 0o600 and log.read_text() == "old\nx\n"


def test_recording_over_an_old_file_is_0600(tmp_path: Path) -> None:
    path = _old_world_readable(tmp_path / "new-dir" / "watch.postaltop.gz")
    recorder = Recorder(path, {"mode": "test"})
    recorder.close()
    assert _mode(path) == 0o600


def test_audit_filters_and_baselines_are_private(tmp_path: Path) -> None:
    audit_dir = tmp_path / "data"
    _old_world_readable(audit_dir / "audit.jsonl")
    store = AuditStore(audit_dir)
    store.append(AuditRecord("server-suspend", "acme/main", {}, "s", [], "refused"))
    assert _mode(audit_dir) == 0o700
    assert _mode(store.db_path) == 0o600 and _mode(store.jsonl_path) == 0o600
    filters = tmp_path / "state" / "filters.json"
    assert save_filter_state(FilterState(last="host:mx1", history=["host:mx1"]), filters)
    assert _mode(filters) == 0o600 and _mode(filters.parent) == 0o700
    baselines = _old_world_readable(tmp_path / "b" / "baselines.sqlite3")
    baselines.unlink()
    baselines.touch(mode=0o666)
    open_private(baselines).close()
    assert _mode(baselines) == 0o600
