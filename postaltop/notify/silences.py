"""Alertmanager silences honoured by postaltop's other channels (Slack, PagerDuty, e-mail).

When watch posts to Alertmanager, the team silences incidents there (``amtool silence add incident=KEY``, or
the web UI). Alertmanager then stops its own notifications, but postaltop's direct channels would still page.
:class:`SilenceGate` closes that gap: before a paging channel delivers, it reads Alertmanager's active
silences (``GET /api/v2/silences``, cached for a few seconds) and matches their matchers against the very
labels postaltop posts for the incident (:func:`postaltop.notify.content.alertmanager_labels`), with
Alertmanager's semantics: ``=``, ``!=``, ``=~``, ``!~``, regular expressions anchored at both ends (RE2, the
syntax Alertmanager uses). When Alertmanager cannot be asked, the page goes out: a lookup failure never
swallows a page.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from postaltop.core.notification import NotificationEvent
from postaltop.notify.content import alertmanager_labels

CACHE_SECONDS = 5.0
"""How long one read of the silences is reused."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One silence matcher."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Alertmanager's rule: a missing label is the empty string; regexes match the whole value."""
        actual = labels.get(self.name, "")
        if self.is_regex:
            try:
                hit = re2.fullmatch(self.value, actual) is not None
            except re2.error:
                return False
        else:
            hit = actual == self.value
        return hit if self.is_equal else not hit


@dataclass(frozen=True, slots=True)
class ActiveSilence:
    """An active silence: its id, who set it, and its matchers (all must match)."""

    id: str
    created_by: str
    comment: str
    matchers: tuple[Matcher, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        """True when every matcher matches (a silence without matchers matches nothing)."""
        return bool(self.matchers) and all(m.matches(labels) for m in self.matchers)


def parse_silences(body: Any) -> list[ActiveSilence]:
    """The active silences of a ``GET /api/v2/silences`` answer (expired and pending ones are left out)."""
    out: list[ActiveSilence] = []
    if not isinstance(body, list):
        return out
    for item in body:
        if not isinstance(item, dict) or (item.get("status") or {}).get("state") != "active":
            continue
        matchers: list[Matcher] = []
        for raw in item.get("matchers") or []:
            if not isinstance(raw, dict) or "name" not in raw:
                continue
            matchers.append(
                Matcher(
                    str(raw["name"]),
                    str(raw.get("value", "")),
                    bool(raw.get("isRegex", False)),
                    bool(raw.get("isEqual", True)),
                )
            )
        out.append(
            ActiveSilence(
                str(item.get("id", "")),
                str(item.get("createdBy", "")),
                str(item.get("comment", "")),
                tuple(matchers),
            )
        )
    return out


def silencing(silences: Sequence[ActiveSilence], labels: Mapping[str, str]) -> ActiveSilence | None:
    """The first silence that covers ``labels``, or None."""
    for silence in silences:
        if silence.matches(labels):
            return silence
    return None


def _get_json(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "postaltop"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read(4_000_000))


class SilenceGate:
    """Answers "is this incident silenced in Alertmanager?" for the paging channels.

    Args:
        url: Alertmanager's base URL.
        timeout: seconds one lookup may take.
        cache_seconds: how long one read is reused.
        clock: monotonic clock.
        labels: the extra labels the Alertmanager channel adds to every alert (matched too).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.labels = dict(labels or {})
        self.endpoint = url.rstrip("/") + "/api/v2/silences"
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._silences: list[ActiveSilence] = []
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self.last_error: str | None = None

    async def silences(self) -> list[ActiveSilence] | None:
        """The active silences (cached), or None when Alertmanager could not be read."""
        async with self._lock:
            now = self.clock()
            if self._read_at is not None and now - self._read_at < self.cache_seconds:
                return self._silences
            try:
                body = await asyncio.to_thread(_get_json, self.endpoint, self.timeout)
            except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                self.last_error = f"cannot read Alertmanager's silences: {type(reason).__name__}"
                self._read_at = None
                return None
            self.last_error = None
            self._silences = parse_silences(body)
            self._read_at = now
            return self._silences

    async def silenced_by(self, event: NotificationEvent) -> ActiveSilence | None:
        """The silence covering ``event``'s incident, or None (also when Alertmanager cannot be read)."""
        silences = await self.silences()
        if not silences:
            return None
        return silencing(silences, alertmanager_labels(event, self.labels))
