"""Fixtures of the DB tests: one realistic Postal dataset per session, built once, dropped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from postaltop.config import DatabaseConfig
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.db_fixtures import admin, db_config, mysql_target
from tests.support.postal_builder import Dataset

__all__ = ["admin", "db_config", "mysql_target"]  # shared fixtures, offered to the tests here


@pytest.fixture(scope="session")
def dataset(mysql_target: mysql.MysqlTarget) -> Iterator[Dataset]:
    """The shared dataset (default layout). Tests may append rows but must not change existing ones."""
    with mysql.built_dataset(mysql_target) as data:
        yield data


@pytest.fixture
async def source(db_config: DatabaseConfig) -> AsyncIterator[PostalDbSource]:
    """A connected source on the shared dataset."""
    src = PostalDbSource(db_config, environ={})
    await src.connect()
    try:
        yield src
    finally:
        await src.close()
