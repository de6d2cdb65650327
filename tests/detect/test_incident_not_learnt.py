"""An incident that goes on is not learnt as normal: flagged minutes and hours stay out of the baselines,
and a hijacked sender's new domains stay new for an hour."""

from __future__ import annotations

import math

from postaltop.core.alerts import Scope, ScopeKind, Severity
from postaltop.core.baseline import Baselines
from postaltop.core.detect.novelty import NoveltyDetector, NoveltySettings
from postaltop.core.recent_baseline import recent_expectation

CRED = Scope(ScopeKind.CREDENTIAL, "7")


def test_flagged_minutes_are_replaced_by_older_normal_ones() -> None:
    values = {m: 10.0 for m in range(0, 100)} | {m: 200.0 for m in range(100, 160)}
    flagged = set(range(100, 160))
    at = values.get
    plain = recent_expectation(lambda m: at(m, math.nan), 161, -1, ())
    kept = recent_expectation(lambda m: at(m, math.nan), 161, -1, flagged)
    assert plain is not None and plain.median == 200.0  # an hour of incident is its own baseline
    assert kept is not None and kept.median == 10.0 and kept.samples >= 30
    # nothing before the incident: no baseline rather than the incident itself
    assert recent_expectation(lambda m: 200.0 if m >= 100 else math.nan, 161, -1, flagged) is None


def test_an_hour_with_a_flagged_minute_is_not_learnt() -> None:
    b = Baselines()
    for minute in range(0, 180):
        b.observe(CRED, "sent", minute * 60.0, 5.0 if minute < 60 or minute >= 120 else 90.0)
        if 60 <= minute < 120 and minute % 10 == 0:
            b.mark_anomalous(CRED, "sent", minute * 60.0)
    b.observe(CRED, "sent", 180 * 60.0, 5.0)
    learnt = {h: v for slot in b.series[(CRED, "sent")].slots.values() for h, v in slot.items()}
    assert learnt == {0: 5.0, 7200: 5.0}


def test_a_sender_going_on_through_its_list_stays_new_for_an_hour() -> None:
    d = NoveltyDetector(NoveltySettings(learning_seconds=0.0))
    d.learn(CRED, ["usual.example"], 0.0)
    pool = [f"spam{i}.example" for i in range(60)]
    severities = []
    for minute in range(1, 41):  # 40 minutes cycling through a 60-domain list, 10 a minute
        ts = 1000.0 + minute * 60
        batch = [pool[(minute * 10 + i) % len(pool)] for i in range(10)]
        found = d.feed(CRED, batch, ts)
        severities.append(found.severity if found else None)
    # the list is exhausted after 6 minutes; its domains were first mailed less than an hour ago
    assert all(s is Severity.CRITICAL for s in severities[3:]), severities
    later = d.feed(CRED, pool[:10], 1000.0 + 41 * 60 + 3600)  # an hour and more later: known
    assert later is None
