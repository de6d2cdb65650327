"""Fixtures of the DB tests: one realistic Postal dataset per session, built once, dropped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from typing import Any

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import Dataset


@pytest.fixture(scope="session")
def mysql_target() -> mysql.MysqlTarget:
    """The MariaDB under test (skips, or fails under CI, when it is not reachable)."""
    return mysql.available_target()


@pytest.fixture(scope="session")
def dataset(mysql_target: mysql.MysqlTarget) -> Iterator[Dataset]:
    """The shared dataset (default layout). Tests may append rows but must not change existing ones."""
    with mysql.built_dataset(mysql_target) as data:
        yield data


@pytest.fixture
def admin(mysql_target: mysql.MysqlTarget) -> Iterator[Any]:
    """A blocking root connection for independent checks."""
    with closing(mysql.connect(mysql_target)) as conn:
        yield conn


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
