"""Back-pressure: when ingest falls behind, the status line says so and nothing is dropped."""

from __future__ import annotations

from itertools import groupby

from postaltop.core.ingest import IngestResult
from postaltop.engine import BEHIND_AFTER_S, Engine
from tests.ui import EPOCH, make_app, sim_lines


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def groups() -> list[tuple[str, str, list[bytes]]]:
    lines = sim_lines(120, volume=3.0)
    return [(h, c, [s.line for s in g]) for (h, c), g in groupby(lines, key=lambda s: (s.host, s.component))]


def fact_summary(results: list[IngestResult]) -> tuple[int, list[str]]:
    return sum(r.count for r in results), sorted(type(f).__name__ for r in results for f in r.facts)


def test_every_line_is_kept_and_counted_while_behind() -> None:
    batches = groups()
    total = sum(len(b[2]) for b in batches)

    reference = Engine(retained_lines=1_000_000, clock=lambda: EPOCH)
    expected: list[IngestResult] = []
    reference.on_facts(expected.append)
    for host, component, lines in batches:
        reference.feed(host, component, lines)

    mono = Clock()
    engine = Engine(
        retained_lines=1_000_000, clock=lambda: EPOCH, monotonic=mono, queue_size=len(batches) // 2
    )
    seen: list[IngestResult] = []
    engine.on_facts(seen.append)
    queued = 0
    for host, component, lines in batches:
        if not engine.submit_nowait(host, component, lines):
            break  # the queue is full: a source would now wait
        queued += 1
    assert engine.behind_since is not None and not engine.is_behind()  # full, but only just
    assert engine.behind_text() == ""
    mono.now += BEHIND_AFTER_S + 0.5  # ... and it stays full
    assert engine.is_behind()
    text = engine.behind_text()
    assert text.startswith(f"behind since 09:00:00: {engine.queued_lines:,} lines queued (")
    assert sum(engine.queued_by_host.values()) == engine.queued_lines
    for host, n in sorted(engine.queued_by_host.items(), key=lambda kv: -kv[1])[:3]:
        assert f"{host} {n:,}" in text
    engine.ingest_now()
    for host, component, lines in batches[queued:]:
        engine.feed(host, component, lines)

    # every line reached the fact listeners, with the same facts as without sampling
    assert fact_summary(seen) == fact_summary(expected)
    assert fact_summary(seen)[0] == total
    assert sum(h.lines for h in engine.hosts.values()) == total  # host rates count every line too
    # ... and the panel (the store) retained every one of them
    assert len(engine.store) == total
    assert engine.queued_lines == 0 and engine.queued_by_host == {}
    assert not engine.is_behind() and engine.behind_text() == ""  # caught up


async def test_status_line_says_behind() -> None:
    mono = Clock()
    engine = Engine(retained_lines=10_000, clock=lambda: EPOCH, monotonic=mono, queue_size=2)
    lines = [s.line for s in sim_lines(2)][:50]
    while engine.submit_nowait("mx1", "worker", lines):
        pass
    mono.now += 5
    app = make_app(engine)
    async with app.run_test(size=(140, 30)) as pilot:
        app.main().sync()
        await pilot.pause()
        text = app.main().query_one("#status-line").text  # type: ignore[attr-defined]
        assert text.startswith("behind since 09:00:00: 100 lines queued (mx1 100)  │  following")
        engine.ingest_now()
        app.main().sync()
        await pilot.pause()
        assert app.main().query_one("#status-line").text.startswith("following")  # type: ignore[attr-defined]
