"""MariaDB access for tests and benchmarks: the server from ``POSTALTOP_TEST_MYSQL``, unique database names.

Every database a test creates is named from a random prefix ``pt_<hex>``: the main DB is ``pt_<hex>`` and
message DBs are ``pt_<hex>-server-<id>`` (exactly Postal's naming with prefix ``pt_<hex>``), so
:func:`drop_prefix` can remove all of them even when the test failed half-way.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql

from postaltop.config import DatabaseConfig
from tests.support.postal_builder import Dataset, build

DEFAULT_URL = "mysql://root@127.0.0.1:3306"


@dataclass(frozen=True)
class MysqlTarget:
    """Where the test server is."""

    host: str
    port: int
    user: str
    password: str

    def __repr__(self) -> str:  # never show the password
        return f"MysqlTarget({self.user}@{self.host}:{self.port})"


def target_from_env() -> MysqlTarget:
    """Parse ``POSTALTOP_TEST_MYSQL`` (``mysql://user[:password]@host[:port]``)."""
    url = urlsplit(os.environ.get("POSTALTOP_TEST_MYSQL") or DEFAULT_URL)
    return MysqlTarget(
        host=url.hostname or "127.0.0.1",
        port=url.port or 3306,
        user=unquote(url.username or "root"),
        password=unquote(url.password or ""),
    )


def connect(target: MysqlTarget, database: str | None = None, **kwargs: Any) -> pymysql.Connection[Any]:
    """A blocking admin connection (autocommit)."""
    return pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=database,
        autocommit=True,
        charset="utf8mb4",
        connect_timeout=5,
        **kwargs,
    )


def reachable(target: MysqlTarget) -> str | None:
    """None when the server answers, else why not."""
    try:
        conn = connect(target)
    except pymysql.err.MySQLError as exc:
        return f"MariaDB not reachable at {target.host}:{target.port} ({exc.args[-1]})"
    conn.close()
    return None


def available_target() -> MysqlTarget:
    """The server from the environment; skips the calling test (fails it under CI) when it does not answer."""
    from tests.support.services import missing_service  # pytest: only tests come here, not benchmarks

    target = target_from_env()
    problem = reachable(target)
    if problem is not None:
        missing_service(problem)
    return target


def unique_prefix() -> str:
    """A fresh ``pt_<hex>`` prefix (main DB name and message-DB prefix)."""
    return "pt_" + secrets.token_hex(5)


def drop_prefix(conn: pymysql.Connection[Any], prefix: str) -> None:
    """Drop the main DB ``prefix`` and every ``prefix-server-*`` database."""
    assert prefix.startswith("pt_") and prefix.replace("_", "").isalnum(), prefix
    with conn.cursor() as cur:
        pattern = prefix.replace("_", "\\_") + "-server-%"
        cur.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s", (pattern,)
        )
        names = [row[0] for row in cur.fetchall()]
        for name in [*names, prefix]:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def prefix_scope(target: MysqlTarget) -> Iterator[str]:
    """A unique prefix whose databases are dropped on exit, failure included."""
    prefix = unique_prefix()
    try:
        yield prefix
    finally:
        conn = connect(target)
        try:
            drop_prefix(conn, prefix)
        finally:
            conn.close()


@contextmanager
def built_dataset(target: MysqlTarget, **options: Any) -> Iterator[Dataset]:
    """A fresh dataset (``postal_builder.build(conn, prefix, **options)``), its databases dropped on exit."""
    with prefix_scope(target) as prefix:
        conn = connect(target)
        try:
            yield build(conn, prefix, **options)
        finally:
            conn.close()


def database_config(target: MysqlTarget, prefix: str, **overrides: Any) -> DatabaseConfig:
    """A ``DatabaseConfig`` for the test server and a ``pt_*`` dataset (no ``~/.my.cnf``)."""
    values: dict[str, Any] = {
        "host": target.host,
        "port": target.port,
        "user": target.user,
        "password": target.password or None,
        "use_my_cnf": False,
        "database": prefix,
        "message_db_prefix": prefix,
        "poll_interval": 1.0,
        "query_timeout": 3.0,
    }
    values.update(overrides)
    return DatabaseConfig(**values)


@contextmanager
def temporary_user(target: MysqlTarget, name: str, grants: list[str]) -> Iterator[tuple[str, str]]:
    """Create ``'name'@'%'`` with a random password and the given GRANT targets; always dropped on exit.

    Args:
        target: the server.
        name: user name (a ``pt_*`` name, so it cannot clash with real accounts).
        grants: ``"SELECT ON `db`.*"``-style privilege clauses, each granted to the user.

    Yields:
        ``(user, password)``.
    """
    assert name.startswith("pt_") and name.replace("_", "").isalnum(), name
    password = secrets.token_hex(12)
    conn = connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
            for clause in grants:
                cur.execute(f"GRANT {clause} TO '{name}'@'%'")
        yield name, password
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        conn.close()


def fetch_all(conn: pymysql.Connection[Any], sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a blocking connection and return all rows."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())
