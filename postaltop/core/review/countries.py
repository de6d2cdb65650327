"""The recipient country mix in a review: per server and per credential, the window against a baseline.

Each scope's outgoing messages are grouped by the recipient domain's country (its ccTLD, see
:mod:`postaltop.core.geo.cctld`; generic TLDs are one group) and shown as the share in the window beside the
share in the baseline (the period before the window), the busiest countries first and the rest as
``other``. A scope whose mix moved far (the country-mix detector's total variation distance and thresholds)
is flagged as a problem of the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from postaltop.core.detect.country_mix import CountryMixSettings, country_counts, distance, shares
from postaltop.core.geo.cctld import GENERIC, UNKNOWN
from postaltop.core.review.model import Problem, Table

COUNTRIES_SHOWN = 4
"""Countries shown per scope (the busiest in the window or the baseline); the rest are one ``other`` row."""
SCOPES_SHOWN = 5
"""Scopes shown per table (the largest shifts first)."""

Tally = Mapping[tuple[int, int | None, str], int]
"""(server id, credential id or None, recipient domain) -> outgoing messages."""


@dataclass(slots=True)
class RecipientMix:
    """Outgoing messages per recipient domain for each server and credential: in the window and a baseline."""

    baseline_label: str
    """What the baseline is, said in the report (``the 7 days before the window`` …)."""
    window: dict[str, dict[str, int]] = field(default_factory=dict)
    """Scope label (``server acme/app``, ``credential acme/app · main smtp``) -> domain -> messages."""
    baseline: dict[str, dict[str, int]] = field(default_factory=dict)


def mix_from_tallies(
    window: Tally,
    baseline: Tally,
    servers: Mapping[int, str],
    credentials: Mapping[int, str],
    baseline_label: str,
) -> RecipientMix:
    """A :class:`RecipientMix` from per (server, credential, domain) counts and the servers' and
    credentials' names (``org/server``; the credential's own name)."""
    mix = RecipientMix(baseline_label)
    for tally, out in ((window, mix.window), (baseline, mix.baseline)):
        for (server_id, cred_id, domain), count in tally.items():
            server = servers.get(server_id, f"server {server_id}")
            labels = [f"server {server}"]
            if cred_id is not None:
                labels.append(f"credential {server} · {credentials.get(cred_id, f'#{cred_id}')}")
            for label in labels:
                domains = out.setdefault(label, {})
                domains[domain] = domains.get(domain, 0) + count
    return mix


def _label(country: str) -> str:
    return country if country in (GENERIC, UNKNOWN, "other") else f".{country}"


def _rows(
    scope: str, now: Mapping[str, float], usual: Mapping[str, float], total: int
) -> list[tuple[str, ...]]:
    """The scope's rows: its busiest countries, then ``other``; the scope is named on the first row."""
    keys = sorted(set(now) | set(usual), key=lambda k: (-max(now.get(k, 0.0), usual.get(k, 0.0)), k))
    shown, rest = keys[:COUNTRIES_SHOWN], keys[COUNTRIES_SHOWN:]
    rows = [(k, now.get(k, 0.0), usual.get(k, 0.0)) for k in shown]
    if rest:
        rows.append(("other", sum(now.get(k, 0.0) for k in rest), sum(usual.get(k, 0.0) for k in rest)))
    out: list[tuple[str, ...]] = []
    for i, (country, a, b) in enumerate(rows):
        name = scope if i == 0 else ""
        messages = f"{round(a * total):,}" if total else "0"
        out.append((name, _label(country), messages, f"{a:.0%}", f"{b:.0%}", f"{round((a - b) * 100):+d} pt"))
    return out


@dataclass(slots=True)
class MixParts:
    """What the country mix adds to a step's evidence."""

    tables: list[Table] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


NEW_COUNTRY_SHARE = 0.05
"""A country absent from the baseline (under :data:`ABSENT_SHARE`) that takes this share of the window is
flagged, when it is at least :data:`NEW_COUNTRY_MIN` messages."""
ABSENT_SHARE = 0.005
NEW_COUNTRY_MIN = 50


def scope_problems(
    scope: str, now: Mapping[str, float], usual: Mapping[str, float], total: int, s: CountryMixSettings
) -> list[Problem]:
    """A shifted mix (the detector's distance and thresholds), and countries new to the scope."""
    if not usual:
        return []
    out = []
    moved = distance(now, usual)
    if total >= s.min_volume and moved >= s.warning_distance:
        severity = "high" if moved >= s.critical_distance else "medium"
        out.append(
            Problem(
                severity, f"{scope}: recipient countries shifted (distance {moved:.2f}) from the baseline"
            )
        )
    for country, share in sorted(now.items(), key=lambda kv: -kv[1]):
        new = usual.get(country, 0.0) < ABSENT_SHARE and country not in (GENERIC, UNKNOWN)
        if new and share >= NEW_COUNTRY_SHARE and share * total >= NEW_COUNTRY_MIN:
            out.append(
                Problem(
                    "medium",
                    f"{scope} sent {round(share * total):,} messages ({share:.0%}) to {_label(country)}, "
                    "a country absent from its baseline",
                )
            )
    return out


def country_mix_parts(mix: RecipientMix, settings: CountryMixSettings | None = None) -> MixParts:
    """The two tables (by server, by credential), the shifted scopes as problems, and a summary line."""
    s = settings or CountryMixSettings()
    parts = MixParts()
    headers = ("scope", "country", "messages", "share", "baseline", "change")
    flagged = 0
    for kind, title in (("server", "by server"), ("credential", "by credential")):
        judged = []
        for scope, domains in mix.window.items():
            if scope.startswith(kind + " "):
                now = shares(country_counts(domains.items()))
                usual = shares(country_counts(mix.baseline.get(scope, {}).items()))
                total = sum(domains.values())
                judged.append((distance(now, usual) if usual else 0.0, total, scope, now, usual))
                found = scope_problems(scope, now, usual, total, s)
                flagged += bool(found)
                parts.problems.extend(found)
        judged.sort(key=lambda j: (-j[0], -j[1], j[2]))
        rows = [
            row
            for _m, total, scope, now, usual in judged[:SCOPES_SHOWN]
            for row in _rows(scope, now, usual, total)
        ]
        parts.tables.append(
            Table(f"Recipient countries {title} (window vs {mix.baseline_label})", headers, tuple(rows))
        )
    parts.summary.append(
        f"Recipient country mix: {flagged} scope(s) flagged against {mix.baseline_label} (a shift of "
        f"distance ≥ {s.warning_distance:.2f}, or a new country taking ≥ {NEW_COUNTRY_SHARE:.0%} of the mail)"
    )
    return parts
