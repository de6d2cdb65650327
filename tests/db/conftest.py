"""Fixtures of the DB tests: one realistic Postal dataset per session, built once, dropped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import Dataset, build
from tests.support.services import missing_service


@pytest.fixture(scope="session")
def mysql_target() -> mysql.MysqlTarget:
    """The MariaDB under test (skips, or fails under CI, when it is not reachable)."""
    target = mysql.target_from_env()
    problem = mysql.reachable(target)
    if problem is not None:
        missing_service(problem)
    return target


@pytest.fixture(scope="session")
def dataset(mysql_target: mysql.MysqlTarget) -> Iterator[Dataset]:
    """The shared dataset (default layout). Tests may append rows but must not change existing ones."""
    with mysql.prefix_scope(mysql_target) as prefix:
        conn = mysql.connect(mysql_target)
        try:
            yield build(conn, prefix)
        finally:
            conn.close()


@pytest.fixture
def admin(mysql_target: mysql.MysqlTarget) -> Iterator[Any]:
    """A blocking root connection for independent checks."""
    conn = mysql.connect(mysql_target)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def db_config(mysql_target: mysql.MysqlTarget, dataset: Dataset) -> DatabaseConfig:
    """Config pointing at the shared dataset."""
    return mysql.database_config(mysql_target, dataset.prefix)


@pytest.fixture
async def source(db_config: DatabaseConfig) -> AsyncIterator[PostalDbSource]:
    """A connected source on the shared dataset."""
    src = PostalDbSource(db_config, environ={})
    await src.connect()
    try:
        yield src
    finally:
        await src.close()
