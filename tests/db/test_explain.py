"""EXPLAIN every poll statement: no full scan of messages, deliveries or queued_messages."""

# ruff: noqa: S608  # identifiers here are the fixture's random `pt_<hex>` names; values are parameters

from __future__ import annotations

from typing import Any

import pytest

from postaltop.core.connect_state import HELD_REASONS
from postaltop.sources import db_queries as q
from tests.support.mysql import fetch_all
from tests.support.postal_builder import Dataset

pytestmark = pytest.mark.mysql

BIG_TABLES = {"messages", "deliveries", "queued_messages"}
ALIASES = {"m": "messages", "d": "deliveries"}


def _statements(dataset: Dataset, admin: Any) -> dict[str, tuple[str, tuple[Any, ...]]]:
    sid = 1
    db = dataset.message_db(sid)
    (max_msg,) = fetch_all(admin, f"SELECT MAX(id) FROM {db}.messages")[0]
    (max_del,) = fetch_all(admin, f"SELECT MAX(id) FROM {db}.deliveries")[0]
    ids = dataset.live_ids()
    main = dataset.main_db
    out = {
        "SERVERS": (q.for_main(q.SERVERS, main), ()),
        "CREDENTIALS_BY_ID": (q.for_main(q.CREDENTIALS_BY_ID, main, 2), (1, 2)),
        "QUEUE": (q.for_main(q.QUEUE, main, len(ids)), tuple(ids)),
        "SERVER_SCALARS": (q.for_server(q.SERVER_SCALARS, dataset.prefix, sid), (3600, 3600)),
        "MESSAGE_WINDOW": (q.for_server(q.MESSAGE_WINDOW, dataset.prefix, sid), (max_msg - 200, max_msg, 0)),
        "DELIVERY_WINDOW": (
            q.for_server(q.DELIVERY_WINDOW, dataset.prefix, sid),
            (max_del - 200, max_del, 0),
        ),
        "HISTORY_HOURLY": (
            q.for_server(q.HISTORY_HOURLY, dataset.prefix, sid),
            (int(dataset.now) - 28 * 86400,),
        ),
        "HISTORY_DAILY": (
            q.for_server(q.HISTORY_DAILY, dataset.prefix, sid),
            (int(dataset.now) - 28 * 86400,),
        ),
    }
    now = float(dataset.now)
    start, since = now - 6 * 3600, now - 54 * 3600
    held = [pattern for _, pattern in HELD_REASONS]
    (first_id,) = fetch_all(admin, f"SELECT MIN(id) FROM {db}.messages WHERE timestamp >= {start - 3600}")[0]
    for name, args in {
        "BACKFILL_MESSAGES": (start, now),
        "BACKFILL_CREDENTIAL_DOMAINS": (start, now, 20000),
        "FIRST_OUTGOING_ID": (start - 3600, now),
        "BACKFILL_DELIVERIES": (*held, first_id or 0, start, now),
        "FUTURE_MESSAGES": (now + 60,),
        "CREDENTIAL_HOURS": (since, start),
        "CREDENTIAL_USUAL_DOMAINS": (since, start, 20000),
    }.items():
        out[name] = (q.for_server(getattr(q, name), dataset.prefix, sid), args)
    domains = q.for_server(q.BACKFILL_DOMAINS, dataset.prefix, sid).replace("{domains}", "%s, %s")
    out["BACKFILL_DOMAINS"] = (domains, ("gmail.com", "yahoo.com", start, now))
    hours = q.for_server(q.DOMAIN_HOURS, dataset.prefix, sid).replace("{domains}", "%s, %s")
    out["DOMAIN_HOURS"] = (hours, ("gmail.com", "yahoo.com", since, start))
    out["MESSAGE_WINDOW"] = (out["MESSAGE_WINDOW"][0], (now + 60, *out["MESSAGE_WINDOW"][1][:3]))
    out["DELIVERY_WINDOW"] = (out["DELIVERY_WINDOW"][0], (*held, now + 60, *out["DELIVERY_WINDOW"][1][:3]))
    # The merged statements the poll really sends: one part per server, joined with UNION ALL.
    out["SCALARS_PART"] = _merged_scalars(dataset)
    windows = []
    for server in (1, 2):
        mdb = dataset.message_db(server)
        (top_msg,) = fetch_all(admin, f"SELECT MAX(id) FROM {mdb}.messages")[0]
        (top_del,) = fetch_all(admin, f"SELECT MAX(id) FROM {mdb}.deliveries")[0]
        windows.append((server, top_msg - 200, top_msg, top_del - 200, top_del, 0.0))
    merged = q.merged_windows(dataset.prefix, windows, now + 60, held)
    assert merged is not None and merged[0].count("UNION ALL") == 3
    out["MESSAGE_WINDOW_PART"] = (merged[0], tuple(merged[1]))
    only_deliveries = q.merged_windows(dataset.prefix, [(1, 5, 5, *windows[0][3:])], now + 60, held)
    assert only_deliveries is not None and "'d'" in only_deliveries[0] and "'m'" not in only_deliveries[0]
    out["DELIVERY_WINDOW_PART"] = (only_deliveries[0], tuple(only_deliveries[1]))
    assert set(out) == set(q.POLL_STATEMENTS), "a poll statement is not covered by this test"
    return out


def _merged_scalars(dataset: Dataset) -> tuple[str, tuple[Any, ...]]:
    sql, args = q.merged_scalars(dataset.prefix, [1, 2, 3], 3600)
    assert sql.count("UNION ALL") == 2
    return sql, tuple(args)


def test_no_poll_statement_scans_a_big_table(dataset: Dataset, admin: Any) -> None:
    problems = []
    seen_big: set[str] = set()
    for name, (sql, args) in _statements(dataset, admin).items():
        with admin.cursor() as cur:
            cur.execute("EXPLAIN " + sql, args or None)
            columns = [c[0] for c in cur.description]
            plan = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        for step in plan:
            table = ALIASES.get(step["table"] or "", step["table"] or "")
            if table in BIG_TABLES:
                seen_big.add(table)
                # ALL = table scan; index = full scan of an index: both grow with the table.
                if step["type"] in ("ALL", "index"):
                    problems.append(
                        f"{name}: {table} type={step['type']} key={step['key']} rows={step['rows']}"
                    )
    assert not problems, "\n".join(problems)
    assert seen_big == BIG_TABLES  # the test really looked at each big table's access


def test_held_count_uses_on_held(dataset: Dataset, admin: Any) -> None:
    db = dataset.message_db(1)
    plan = fetch_all(admin, f"EXPLAIN SELECT COUNT(*) FROM {db}.`messages` WHERE held = 1")
    assert plan[0][5] == "on_held"  # the `key` column
