"""Message lookup for the trace against MariaDB with a realistic Postal dataset."""
# ruff: noqa: S608  # identifiers: the test dataset's generated pt_* database names; values: params

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from postaltop.sources.message_lookup import DELIVERIES, MESSAGE_BY_TOKEN, lookup_for
from postaltop.sources.postal_db import PostalDbSource
from tests.support import mysql
from tests.support.postal_builder import Dataset, default_layout


@pytest.fixture(scope="module")
def built() -> Iterator[tuple[mysql.MysqlTarget, Dataset]]:
    target = mysql.available_target()
    layout = [s for s in default_layout() if s.id in (1, 2, 6)]
    with mysql.built_dataset(target, layout=layout, weeks=1) as data:
        yield target, data


def first_message(target: mysql.MysqlTarget, data: Dataset, server_id: int) -> tuple[Any, ...]:
    conn = mysql.connect(target)
    try:
        return mysql.fetch_all(
            conn,
            f"SELECT m.id, m.token, COUNT(d.id) FROM {data.message_db(server_id)}.messages m "
            f"JOIN {data.message_db(server_id)}.deliveries d ON d.message_id = m.id "
            "GROUP BY m.id ORDER BY m.id LIMIT 1",
        )[0]
    finally:
        conn.close()


async def test_lookup_by_server_message_token_and_queue_id(built: tuple[mysql.MysqlTarget, Dataset]) -> None:
    target, data = built
    message_id, token, deliveries = first_message(target, data, 2)
    source = PostalDbSource(mysql.database_config(target, data.prefix), environ={})
    await source.connect()
    try:
        lookup = lookup_for(source)
        found = await lookup.lookup(f"2::{message_id}")
        assert [r.ref for r in found.records] == [f"2::{message_id}"]
        record = found.records[0]
        assert record.message["token"] == token and len(record.deliveries) == deliveries
        assert all(isinstance(d["timestamp"], float) for d in record.deliveries)

        by_token = await lookup.lookup(token)
        assert [r.ref for r in by_token.records] == [f"2::{message_id}"]

        missing = await lookup.lookup("2::999999999")
        assert not missing.records and "no message 999999999" in missing.note
        assert not (await lookup.lookup("NoSuchToken123")).records  # server 6 has no DB: skipped

        # a queued message resolves through the main DB's queue
        conn = mysql.connect(target)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO `{data.prefix}`.queued_messages (server_id, message_id, domain, attempts) "
                    "VALUES (2, %s, 'example.net', 0)",
                    (message_id,),
                )
                queued = cur.lastrowid
            conn.commit()
        finally:
            conn.close()
        via_queue = await lookup.lookup(str(queued))
        assert [r.ref for r in via_queue.records] == [f"2::{message_id}"]
        assert f"is 2::{message_id}" in via_queue.note
        # injection-shaped input is refused before any SQL
        assert "not a server::message" in (await lookup.lookup("x' OR 1=1 --")).note
    finally:
        await source.close()


def test_lookups_use_indexes(built: tuple[mysql.MysqlTarget, Dataset]) -> None:
    target, data = built
    conn = mysql.connect(target)
    try:
        for sql, arg in ((MESSAGE_BY_TOKEN, "abc"), (DELIVERIES, 1)):
            plan = mysql.fetch_all(conn, "EXPLAIN " + sql.replace("{db}", data.message_db(1)), (arg,))
            assert plan[0][3] in ("ref", "range", "const") and plan[0][5], plan  # indexed: no full scan
    finally:
        conn.close()


async def test_trace_screen_shows_the_message_row_and_deliveries(
    built: tuple[mysql.MysqlTarget, Dataset],
) -> None:
    from postaltop.sources.message_lookup import LazyLookup
    from postaltop.ui.screens.trace import TraceScreen, db_renderable
    from tests.ui import feed_raw, make_app, make_engine

    target, data = built
    message_id, token, deliveries = first_message(target, data, 2)
    engine = make_engine()
    line = (
        f"2026-04-28T09:00:01.300000000Z 2026-04-28 09:00:01 +0000 INFO   Sending message 2::{message_id} "
        "to a@example.net log_id=QQ77WW88 component=worker thread=work0 queued_message=55"
    ).encode()
    feed_raw(engine, "mx1", "worker", [line])
    app = make_app(engine)
    lookup = LazyLookup(mysql.database_config(target, data.prefix))
    app.message_lookup = lookup
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            app.main().sync()
            await pilot.pause()
            await pilot.press("T")
            screen = app.screen
            assert isinstance(screen, TraceScreen)
            for _ in range(100):
                await pilot.pause(0.05)
                if screen.db_result is not None:
                    break
            await pilot.pause(0.1)
            assert [r.ref for r in screen.db_result.records] == [f"2::{message_id}"]
            console = Console(width=140, record=True)
            console.print(db_renderable(screen.db_result))
            assert screen.query_one("#trace-db", Static).content is not None
            assert not isinstance(
                screen.query_one("#trace-db", Static).content, Text
            )  # the table replaced "loading…"
            shown = console.export_text()
            assert re.search(rf"message\s+2::{message_id}\s", shown) and re.search(rf"token\s+{token}", shown)
            assert shown.count("delivery #") == deliveries
    finally:
        await lookup.close()


def test_trace_cli_prints_the_message_and_its_deliveries(
    built: tuple[mysql.MysqlTarget, Dataset], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from postaltop.cli import main

    target, data = built
    message_id, token, deliveries = first_message(target, data, 2)
    config = tmp_path / "config.toml"
    config.write_text(
        "[database]\n"
        f'host = "{target.host}"\nport = {target.port}\nuser = "{target.user}"\n'
        f'database = "{data.prefix}"\nmessage_db_prefix = "{data.prefix}"\nuse_my_cnf = false\n'
        + ('password_env = "PT_TRACE_TEST_PW"\n' if target.password else "")
    )
    config.chmod(0o600)
    assert main(["--config", str(config), "trace", f"2::{message_id}"]) == 0
    out = capsys.readouterr().out
    assert f"# message 2::{message_id}" in out and f"token       {token}" in out
    assert f"# deliveries ({deliveries})" in out
    assert "# logs: no [[hosts]] are configured" in out
    assert main(["--config", str(config), "trace", token, "--no-logs"]) == 0
    assert f"# message 2::{message_id}" in capsys.readouterr().out


async def test_an_all_digit_token_is_found_when_no_queued_message_has_that_id(
    built: tuple[mysql.MysqlTarget, Dataset],
) -> None:
    target, data = built
    message_id, _token, _deliveries = first_message(target, data, 1)
    digits = "5550001112223334"  # a token of Postal's alphabet that happens to be all digits
    conn = mysql.connect(target)
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"UPDATE {data.message_db(1)}.messages SET token = %s WHERE id = %s", (digits, message_id)
            )
        conn.commit()
    finally:
        conn.close()
    source = PostalDbSource(mysql.database_config(target, data.prefix), environ={})
    await source.connect()
    try:
        found = await lookup_for(source).lookup(digits)
        assert [r.ref for r in found.records] == [f"1::{message_id}"]
        nothing = await lookup_for(source).lookup("12345678901234")
        assert not nothing.records
        assert "not in the queue" in nothing.note and "no message with token" in nothing.note
    finally:
        await source.close()
