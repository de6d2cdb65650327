"""The message trace: the pure trace over the store, and the screen opened with T / from the detail view."""

from __future__ import annotations

import pytest

from postaltop.core.trace import TraceError, check_ref, message_refs, trace
from postaltop.ui.screens.detail import DetailScreen
from postaltop.ui.screens.trace import TraceScreen
from tests.ui import EPOCH, feed, feed_raw, make_app, make_engine, sim_lines

SIZE = (140, 40)

STAMP = b"2026-04-28T09:00:01.%d00000000Z 2026-04-28 09:00:01 +0000 INFO   "
QUEUED = b" component=worker thread=work0 original_queued_message=777 queued_message=777"
WORKER = [
    STAMP % 0 + b"starting message unqueue" + QUEUED,
    STAMP % 2 + b"Connected to 192.0.2.10:25 (mx.example.net) log_id=ZZ11YY22" + QUEUED,
    STAMP % 3 + b"Sending message 9::4242 to a@example.net log_id=ZZ11YY22" + QUEUED,
    STAMP % 4 + b"unrelated queued_message=7770",
]
ON_MX2 = [
    # the same delivery's log_id seen on another host/component, earlier in time
    b"2026-04-28T09:00:00.500000000Z 2026-04-28 09:00:00 +0000 INFO   Accepted by 192.0.2.10:25 for "
    b"a@example.net log_id=ZZ11YY22 component=worker thread=work1",
]


def engine_with_message() -> object:
    engine = make_engine()
    feed(engine, sim_lines(10))
    feed_raw(engine, "mx1", "worker", WORKER)
    feed_raw(engine, "mx2", "worker", ON_MX2)
    return engine


def test_trace_follows_every_id_across_hosts_in_time_order() -> None:
    engine = engine_with_message()
    result = trace(engine.store, "777")  # type: ignore[attr-defined]
    assert result.refs[0] == "777" and sorted(result.refs[1:]) == ["9::4242", "ZZ11YY22"]
    texts = [e.text for e in result.events]
    assert len(texts) == 4 and all("7770" not in t for t in texts)
    assert [e.host for e in result.events] == ["mx2", "mx1", "mx1", "mx1"]
    assert [e.ts for e in result.events] == sorted(e.ts for e in result.events)
    assert result.hosts == ["mx2", "mx1"]
    # starting from the log_id finds the same lines
    assert {e.seq for e in trace(engine.store, "ZZ11YY22").events} == {e.seq for e in result.events}  # type: ignore[attr-defined]


def test_refs_of_a_line_and_invalid_refs() -> None:
    assert message_refs(WORKER[2].decode()) == ["9::4242", "777", "ZZ11YY22"]
    assert message_refs(
        "2026-04-28 09:00:01 +0000 INFO   Connection opened from 1.2.3.4 trace_id=T0000208"
    ) == ["T0000208"]
    assert message_refs("plain text") == []
    for bad in ("", "a b", "x'; DROP", "$(reboot)"):
        with pytest.raises(TraceError):
            check_ref(bad)


async def test_T_on_the_selected_event_opens_the_trace_and_enter_in_detail_too() -> None:
    engine = engine_with_message()
    app = make_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        app.main().sync()
        await pilot.pause()
        panel = app.main().panel
        sending = next(
            s
            for s in range(engine.store.start_seq, engine.store.end_seq)  # type: ignore[attr-defined]
            if "Sending message 9::4242" in engine.store.event(s).text  # type: ignore[attr-defined]
        )
        panel.follow = False
        panel.cursor_seq = sending
        await pilot.press("T")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        assert screen.ref == "9::4242" and len(screen.result.events) == 4
        assert "hosts: mx2, mx1" in str(screen.query_one("#trace-summary").render())
        assert "Accepted by 192.0.2.10:25" in app.export_screenshot().replace("&#160;", " ")
        assert "no database source" in str(screen.query_one("#trace-db").render())
        await pilot.press("escape")
        await pilot.pause()
        # from the detail view: Enter traces
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TraceScreen) and app.screen.ref == "9::4242"
        await pilot.press("escape", "escape")
        await pilot.pause()
        # a line without any message id: a warning, no screen
        plain = feed_raw(engine, "mx1", "web", [b"2026-04-28T09:00:02.000000000Z puma started"])  # type: ignore[arg-type]
        assert plain == 1
        app.main().sync()  # the new line must be in the view to be selectable
        panel.cursor_seq = engine.store.end_seq - 1  # type: ignore[attr-defined]
        await pilot.press("T")
        await pilot.pause()
        assert not isinstance(app.screen, TraceScreen)
    assert EPOCH
