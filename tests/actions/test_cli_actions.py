"""``postaltop act`` / ``undo`` / ``audit`` end to end against the real MariaDB."""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from postaltop import cli, locations
from tests.actions.conftest import checksums, rows
from tests.actions.test_bulk_actions import SENDER, _add_queued
from tests.support import mysql
from tests.support.postal_builder import Dataset


@pytest.fixture
def config_file(tmp_path: Path, dataset: Dataset, mysql_target: mysql.MysqlTarget) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nhost = "{mysql_target.host}"\nport = {mysql_target.port}\n'
        f'user = "{mysql_target.user}"\n'
        f'use_my_cnf = false\ndatabase = "{dataset.prefix}"\nmessage_db_prefix = "{dataset.prefix}"\n'
        "[actions]\nenabled = true\n"
    )
    path.chmod(0o600)
    if mysql_target.password:
        os.environ["POSTALTOP_DB_PASSWORD"] = mysql_target.password
    return path


def _act(config: Path, *argv: str) -> int:
    return cli.main(["act", "--config", str(config), *argv])


def test_dry_run_changes_nothing(config_file: Path, dataset: Dataset, admin: Any, capsys: Any) -> None:
    _add_queued(admin, dataset, [1, 1, 1])
    before = checksums(admin, dataset)
    code = _act(
        config_file, "hold-queued", "acme/main", "--filter-credential", "1", "--sender", SENDER, "--dry-run"
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Affected: 3 queued messages" in out
    assert "DELETE FROM {main}.`queued_messages`" in out
    assert "Direct SQL emits none of Postal's webhooks" in out
    assert "Dry run: nothing was changed." in out
    assert checksums(admin, dataset) == before
    assert not (locations.data_dir() / "audit.jsonl").exists()


def test_hold_credential_and_bulk_hold_then_undo_both(
    config_file: Path, dataset: Dataset, admin: Any, capsys: Any
) -> None:
    ids = _add_queued(admin, dataset, [1, 1, 2])
    before = checksums(admin, dataset)
    assert _act(config_file, "credential-hold", "acme/main", "main main smtp", "--yes") == 0
    assert (
        _act(
            config_file,
            "hold-queued",
            "acme/main",
            "--filter-credential",
            "main main smtp",
            "--sender",
            SENDER,
            "--yes",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "[ok] done and verified (2 queued messages)" in out
    assert "postaltop undo 2" in out
    msg = f"`{dataset.prefix}-server-1`"
    assert rows(admin, f"SELECT status FROM {msg}.messages WHERE id IN %s ORDER BY id", (ids,)) == [
        ("Held",),
        ("Held",),
        ("Pending",),
    ]
    assert cli.main(["audit", "--config", str(config_file)]) == 0
    listing = capsys.readouterr().out
    assert "credential-hold acme/main [ok]" in listing and "hold-queued acme/main [ok]" in listing
    assert cli.main(["undo", "--config", str(config_file), "2", "--yes"]) == 0
    assert cli.main(["undo", "--config", str(config_file), "1", "--yes"]) == 0
    assert checksums(admin, dataset) == before
    assert cli.main(["audit", "--config", str(config_file), "--json"]) == 0
    trail = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(t["action"], t["result"], t["undo_of"]) for t in trail][-2:] == [
        ("undo", "ok", 2),
        ("undo", "ok", 1),
    ]
    assert trail[0]["undone_by"] == 4 and trail[0]["os_user"] and trail[0]["db_user"].startswith("root@")


def test_revoke_key_never_on_stdout_or_jsonl(
    config_file: Path, dataset: Dataset, admin: Any, capsys: Any
) -> None:
    (key,) = rows(admin, f"SELECT `key` FROM `{dataset.prefix}`.credentials WHERE id = 1")[0]
    assert _act(config_file, "credential-revoke", "acme/main", "1", "--yes") == 0
    assert _act(config_file, "undo", "1", "--dry-run") == 0  # the undo's preview shows the INSERT, redacted
    assert cli.main(["undo", "--config", str(config_file), "1", "--yes"]) == 0
    assert cli.main(["audit", "--config", str(config_file), "--json"]) == 0
    captured = capsys.readouterr()
    assert "[redacted]" in captured.out
    assert key not in captured.out and key not in captured.err
    assert key not in (locations.data_dir() / "audit.jsonl").read_text()
    assert rows(admin, f"SELECT `key` FROM `{dataset.prefix}`.credentials WHERE id = 1") == [(key,)]


def test_disabled_actions_explain_how_to_enable(config_file: Path, dataset: Dataset, capsys: Any) -> None:
    config_file.write_text(config_file.read_text().replace("enabled = true", "enabled = false"))
    assert _act(config_file, "server-mode", "acme/main", "--mode", "Development", "--yes") == 2
    assert "--allow-actions" in capsys.readouterr().err
    assert (
        _act(config_file, "server-mode", "acme/main", "--mode", "Development", "--yes", "--allow-actions")
        == 0
    )


def test_no_terminal_without_yes_is_cancelled(
    config_file: Path, dataset: Dataset, admin: Any, capsys: Any
) -> None:
    before = checksums(admin, dataset)
    assert _act(config_file, "server-mode", "acme/main", "--mode", "Development") == 1
    assert "pass --yes" in capsys.readouterr().err
    assert checksums(admin, dataset) == before


def test_unreachable_database_is_refused_and_audited(
    config_file: Path, dataset: Dataset, capsys: Any
) -> None:
    from postaltop.store.audit import AuditStore
    from tests.support.sshd import free_port

    port = free_port()  # nothing listens there
    text = config_file.read_text()
    config_file.write_text(
        text.replace("[database]\n", "[database]\nquery_timeout = 1.0\n").replace(
            text.split("port = ")[1].split("\n")[0], str(port), 1
        )
    )
    assert _act(config_file, "credential-hold", "acme/main", "main main smtp", "--yes") == 1
    err = capsys.readouterr().err
    assert "[refused] refused:" in err and "nothing changed" in err and "Traceback" not in err
    records = AuditStore().list()
    assert records and records[-1].result == "refused"
    assert records[-1].targets["database"].endswith(f":{port} (direct)")
    assert "nothing changed" in records[-1].detail
