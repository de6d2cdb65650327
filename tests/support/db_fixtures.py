"""Fixtures shared by the MariaDB test packages (import them into a ``conftest.py``).

Each package defines its own ``dataset`` fixture (built once per session for read-only tests, once per test
where tests change it); these fixtures take whichever ``dataset`` the package provides.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from postaltop.config import DatabaseConfig
from tests.support import mysql
from tests.support.postal_builder import Dataset


@pytest.fixture(scope="session")
def mysql_target() -> mysql.MysqlTarget:
    """The MariaDB under test (skips, or fails under CI, when it is not reachable)."""
    return mysql.available_target()


@pytest.fixture
def admin(mysql_target: mysql.MysqlTarget) -> Iterator[Any]:
    """A blocking root connection for independent checks."""
    with closing(mysql.connect(mysql_target)) as conn:
        yield conn


@pytest.fixture
def db_config(mysql_target: mysql.MysqlTarget, dataset: Dataset) -> DatabaseConfig:
    """Config pointing at the package's dataset."""
    return mysql.database_config(mysql_target, dataset.prefix)
