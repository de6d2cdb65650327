"""``~/.my.cnf`` reading, and the source using it to log in."""

from __future__ import annotations

from pathlib import Path

import pytest

from postaltop.config import DatabaseConfig
from postaltop.config.mycnf import read_client_options
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import Dataset


def _write(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "my.cnf"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    path.chmod(mode)
    return path


def test_reads_client_group_with_quotes_comments_and_includes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "port=1\n!includedir /etc/mysql/conf.d/\n[mysqld]\nuser=mysql\n[client]\nuser = postal\n"
        'password = "p#ss w\\"ord\\n"\nhost=db.internal  # primary\nport=3307\n[mysql]\npassword=other\n',
    )
    opts = read_client_options(path)
    assert (opts.user, opts.host, opts.port) == ("postal", "db.internal", 3307)
    assert opts.password == 'p#ss w"ord\n'
    assert "p#ss" not in repr(opts)
    assert opts.warning is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff\xfe garbage [[[",
        b"[client\npassword=x",
        b"[client]\nport=notanumber\n",
        b"[other]\nuser=x\n",
    ],
)
def test_garbage_never_raises(tmp_path: Path, content: bytes) -> None:
    opts = read_client_options(_write(tmp_path, content))
    assert opts.password is None and opts.port is None


def test_world_writable_and_missing_files_are_ignored(tmp_path: Path) -> None:
    opts = read_client_options(_write(tmp_path, "[client]\npassword=secret\n", mode=0o666))
    assert opts.password is None and opts.warning is not None and "world-writable" in opts.warning
    assert "secret" not in opts.warning
    assert read_client_options(tmp_path / "absent.cnf").password is None


def test_empty_password_is_kept(tmp_path: Path) -> None:
    assert read_client_options(_write(tmp_path, "[client]\nuser=root\npassword=\n")).password == ""


@pytest.mark.mysql
async def test_source_logs_in_with_my_cnf(
    tmp_path: Path, mysql_target: mysql.MysqlTarget, dataset: Dataset
) -> None:
    user = f"{dataset.prefix}_cnf"
    with mysql.temporary_user(mysql_target, user, [f"SELECT ON `{dataset.prefix}`.*"]) as (name, password):
        cnf = _write(tmp_path, f"[client]\nuser={name}\npassword='{password}'\n")
        # user/password are not set in the config: ~/.my.cnf fills them; host/port are explicit.
        config = DatabaseConfig(
            host=mysql_target.host,
            port=mysql_target.port,
            database=dataset.prefix,
            message_db_prefix=dataset.prefix,
        )
        src = PostalDbSource(config, environ={}, my_cnf=cnf)
        await src.connect()
        try:
            result = await src.poll_once()
        finally:
            await src.close()
        assert result.connected and src.address.startswith(f"{name}@")
        assert password not in repr(result) and password not in src.status
        # The env var still wins over ~/.my.cnf (here: a wrong one, so the login fails).
        src = PostalDbSource(config, environ={"POSTALTOP_DB_PASSWORD": "wrong"}, my_cnf=cnf)
        with pytest.raises(Exception, match="Access denied"):
            await src.connect()
        await src.close()
