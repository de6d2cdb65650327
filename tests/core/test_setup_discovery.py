"""What config init reads from OpenSSH configs and Postal's postal.yml (pure parsing)."""

from __future__ import annotations

import pytest
import yaml

from postaltop.core.setup_discovery import (
    PostalConfigError,
    SshHostEntry,
    StarterConfig,
    parse_postal_config,
    parse_ssh_config_hosts,
    starter_config_text,
)


def test_ssh_config_concrete_aliases_first_value_wins_and_match_blocks_skipped() -> None:
    text = """
# comment
Host mx1 mx2
    HostName=10.0.0.1
    User postal
    Port 2222
    IdentityFile "~/.ssh/postal key"
    Port 22
Host *.internal !db? bastion-*
    User nobody
Match host mx1
    User someone-else
Host mx2
    HostName 10.0.0.2
Host *
    User fallback
"""
    entries = parse_ssh_config_hosts(text)
    assert entries == [
        SshHostEntry("mx1", "10.0.0.1", "postal", 2222, "~/.ssh/postal key", None),
        SshHostEntry("mx2", "10.0.0.1", "postal", 2222, "~/.ssh/postal key", None),
    ]
    assert entries[0].describe() == "postal@10.0.0.1:2222"


def test_postal_v3_file_reads_database_name_prefix_and_ignores_prefix() -> None:
    data = yaml.safe_load(
        "version: 2\nmain_db:\n  host: 127.0.0.1\n  username: root\n  password: postal\n  database: postal\n"
        "message_db:\n  host: 127.0.0.1\n  username: root\n  password: postal\n  prefix: custom\n"
    )
    db = parse_postal_config(data)
    assert (db.host, db.port, db.username, db.database, db.message_db_prefix) == (
        "127.0.0.1", 3306, "root", "postal", "postal"
    )  # fmt: skip
    assert db.password == "postal" and "postal" not in repr(db).split("password")[-1][:5]
    assert db.on_postal_host
    assert any("database_name_prefix" in note for note in db.notes)
    assert any("SELECT-only" in note for note in db.notes)


def test_legacy_postal_file_uses_prefix_and_defaults_apply() -> None:
    db = parse_postal_config(
        {"main_db": {"host": "db.internal", "port": "3307"}, "message_db": {"prefix": "px"}}
    )
    assert (db.host, db.port, db.username, db.database, db.message_db_prefix) == (
        "db.internal", 3307, "postal", "postal", "px"
    )  # fmt: skip
    assert db.password is None and not db.on_postal_host
    assert any("message databases are on localhost" in note for note in db.notes)


@pytest.mark.parametrize("bad", [None, "text", {"main_db": "x"}, {"version": 2, "main_db": {"port": "abc"}}])
def test_malformed_postal_yml_is_refused(bad: object) -> None:
    with pytest.raises(PostalConfigError):
        parse_postal_config(bad)


def test_starter_text_never_holds_the_password() -> None:
    db = parse_postal_config(
        {"version": 2, "main_db": {"host": "localhost", "password": "s3cret", "port": 3307}}
    )
    text = starter_config_text(
        StarterConfig(hosts=[SshHostEntry("mx1")], postal_host="mx1", database=db, password_file="/p"),
        header="hello",
    )
    assert "s3cret" not in text
    assert 'host = "127.0.0.1"' in text and "port = 3307" in text and 'ssh_tunnel = "mx1"' in text
    assert text.startswith("# hello\n")
