"""Fixtures of the action tests: a fresh realistic Postal dataset per test (actions change it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postaltop.config import ActionsConfig, DatabaseConfig
from postaltop.sources.action_executor import DbActionExecutor
from postaltop.store.audit import AuditStore
from tests.support import mysql
from tests.support.db_fixtures import admin, db_config, mysql_target
from tests.support.postal_builder import Dataset

__all__ = ["admin", "db_config", "mysql_target"]  # shared fixtures, offered to the tests here

MAIN_TABLES = ("credentials", "servers", "queued_messages", "organizations")
MSG_TABLES = ("messages", "deliveries", "suppressions")


@pytest.fixture
def dataset(mysql_target: mysql.MysqlTarget) -> Iterator[Dataset]:
    """A fresh one-week dataset (default layout), dropped afterwards."""
    with mysql.built_dataset(mysql_target, weeks=1) as data:
        yield data


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    """An audit store in a temporary directory."""
    return AuditStore(tmp_path / "audit")


@pytest.fixture
def executor(db_config: DatabaseConfig, store: AuditStore) -> DbActionExecutor:
    """An executor with actions enabled."""
    return DbActionExecutor(db_config, ActionsConfig(enabled=True), store, environ={})


def checksums(conn: Any, ds: Dataset, server_ids: tuple[int, ...] = (1, 2, 3, 4, 5)) -> dict[str, Any]:
    """CHECKSUM TABLE of every table actions touch (main + message DBs): equal = byte-identical rows."""
    out: dict[str, Any] = {}
    names = [f"`{ds.prefix}`.`{t}`" for t in MAIN_TABLES]
    names += [f"`{ds.prefix}-server-{s}`.`{t}`" for s in server_ids for t in MSG_TABLES]
    for name in names:
        rows = mysql.fetch_all(conn, f"CHECKSUM TABLE {name}")
        out[name] = rows[0][1]
    return out


def rows(conn: Any, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """All rows of a query."""
    return mysql.fetch_all(conn, sql, args)
