"""The :class:`Monitor`: engine facts and metric polls in, alerts out."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from postaltop.core.alerts import DB_SOURCE, GLOBAL, Alert, Finding, Scope, ScopeKind
from postaltop.core.connect_state import ConnectState
from postaltop.core.dbmetrics import PollResult
from postaltop.core.facts import AuthFailure
from postaltop.monitoring.connect import ConnectLayer

if TYPE_CHECKING:
    from postaltop.core.ingest import IngestResult


class Monitor(ConnectLayer):
    """Runs the detectors over an engine's facts and metric polls and owns the alerts.

    Args:
        settings: the ``[detection]`` section (defaults when None).
        baseline_store: where hourly baseline samples persist (None = memory only).
        alert_store: where silences and acknowledgements persist (None = memory only).
        author: who acknowledges/silences from this front end (the local user name).
    """

    def attach(self, engine: Any) -> None:
        """Subscribe to ``engine``'s facts and metric polls (an :class:`~postaltop.engine.Engine`)."""
        self._engine = engine
        self._unsubscribe.append(engine.on_facts(self.on_facts))
        self._unsubscribe.append(engine.on_metrics(self.on_metrics))
        self.signals.attach(engine)
        self._unsubscribe.append(self.signals.detach)
        for result in list(getattr(engine, "metrics_history", ())):
            self.on_metrics(result)

    def detach(self) -> None:
        """Unsubscribe from the engine."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # -- metrics -----------------------------------------------------------------------------

    def on_metrics(self, result: PollResult) -> None:
        """Take one poll result (never raises on odd figures: NaN and negative counts are skipped)."""
        for info in result.servers:
            self.servers[info.id] = info
        if self._buffer is not None:
            self._buffer.append(result)  # the state at connect is being read: judged after it
            return
        if self._maybe_load_state(result):
            return
        self._maybe_bootstrap(result)
        down = not result.connected
        self.db_status = result.status
        if down != self.alerts_manager.is_down(DB_SOURCE):
            self.alerts_manager.set_source_down(DB_SOURCE, down, self._now)
        if down:
            return
        queue_total = 0.0
        ts_max = widest = -math.inf
        early: list[Finding] = []
        for sample in result.samples:
            if sample.stale or not math.isfinite(sample.sampled_at):
                continue
            ts = sample.sampled_at
            ts_max = max(ts_max, ts)
            span = min(max(sample.window_seconds, 0.0), 60.0)
            widest = max(widest, span)
            minute = int((ts - span / 2) // 60)
            scope = self.scope_of_server(sample.server_id)
            covered = ts <= self._covered_until
            self.future_rows += sample.future_rows
            if not covered:
                c = sample.counts
                early += self._add_counts(
                    scope, minute, c.outgoing, c.bounced, c.held, c.spam, c.sent, c.hard_fail, ts, span
                )
                if sample.held_send_limit:
                    held = self._senders(dict(sample.held_send_limit_by_credential))
                    self.send_limit.observe_held(scope, ts, sample.held_send_limit, held)
            self._gauges[scope] = (minute, float(sample.queue_depth))
            queue_total += max(0, sample.queue_depth)
        if ts_max == -math.inf:
            return
        covered = ts_max <= self._covered_until
        minute = int(ts_max // 60)
        self._gauges[GLOBAL] = (minute, queue_total)
        findings: list[Finding] = early + self._judge_global_ratio() + self._judge_send_limits(result)
        if not covered:
            self._cover(minute, widest)
            for cred in result.credentials:
                self._add(self.credential_scope(cred.credential_id, cred.name), "sent", minute, cred.count)
            per_server: dict[int, list[str]] = {}
            for dom in result.domains:
                self._add(Scope(ScopeKind.DOMAIN, dom.domain.lower()), "sent", minute, dom.count)
                per_server.setdefault(dom.server_id, []).append(dom.domain)
            for sid, domains in per_server.items():
                found = self.novelty.feed(self.scope_of_server(sid), domains, ts_max)
                if found is not None:
                    findings.append(found)
            findings.extend(self._credential_novelty(result, ts_max))
        self._advance(ts_max, findings, peek=not covered)

    def _maybe_load_state(self, result: PollResult) -> bool:
        """Start reading the state at connect; True when ``result`` was held back until it is read."""
        provider = self._state_provider
        if provider is None or self._state_done or not result.connected:
            return False
        fresh = [x.sampled_at for x in result.samples if not x.stale and math.isfinite(x.sampled_at)]
        if not fresh:
            return False
        self._state_done = True
        try:
            state = provider(self.connect_request(max(fresh)))
        except Exception as exc:  # monitoring goes on without it (scopes learn online)
            self.state_error = f"could not read the recent past: {type(exc).__name__}"
            return False
        if not inspect.isawaitable(state):
            self.apply_state(state)
            return False
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: ask again at the next poll
            close = getattr(state, "close", None)
            if callable(close):
                close()
            self._state_done = False
            return False
        self._buffer = [result]

        async def wait(awaitable: Any) -> None:
            got: ConnectState | None = None
            try:
                got = await awaitable
            except Exception as exc:  # the buffered polls are judged anyway
                self.state_error = f"could not read the recent past: {type(exc).__name__}: {exc}"[:300]
            finally:
                held, self._buffer = self._buffer or [], None
                if got is not None:
                    self.apply_state(got)
                for pending in held:
                    self.on_metrics(pending)

        self._bootstrap_task = asyncio.ensure_future(wait(state))
        return True

    def _judge_send_limits(self, result: PollResult) -> list[Finding]:
        """The send-limit detector over each fresh sample (usage, Postal's marks, held by the limit)."""
        busiest: dict[int, list[tuple[str, int]]] = {}
        for cred in result.credentials:
            busiest.setdefault(cred.server_id, []).append(
                (self.credential_scope(cred.credential_id, cred.name).display, cred.count)
            )
        out: list[Finding] = []
        for sample in result.samples:
            if sample.stale or not math.isfinite(sample.sampled_at):
                continue
            info = self.servers.get(sample.server_id)
            found = self.send_limit.judge(
                self.scope_of_server(sample.server_id),
                sample.sampled_at,
                usage_pct=sample.send_limit_usage_pct,
                limit=sample.send_limit,
                exceeded_age=info.send_limit_exceeded_age if info is not None else None,
                busiest=busiest.get(sample.server_id, ()),
            )
            if found is not None:
                out.append(found)
        return out

    def _credential_novelty(self, result: PollResult, ts: float) -> list[Finding]:
        """Feed each credential's recipient domains of the window to the novelty detector."""
        per_cred: dict[int, list[str]] = {}
        for sample in result.credential_domains:
            if sample.count > 0 and sample.domain:
                per_cred.setdefault(sample.credential_id, []).append(sample.domain)
        if not per_cred:
            return []
        names = {c.credential_id: c.name for c in result.credentials}
        out: list[Finding] = []
        for cred_id, domains in per_cred.items():
            scope = self.credential_scope(cred_id, names.get(cred_id, ""))
            found = self.novelty.feed(scope, domains, ts)
            if found is not None:
                out.append(found)
        return out

    def learn_credential_domains(self, known: Mapping[tuple[int, str], Iterable[str]], since: float) -> None:
        """Seed the novelty detector: ``(credential id, name)`` -> domains it has mailed since ``since``.

        A credential seeded this way is judged at once; one first seen live learns for an hour.
        """
        for (cred_id, name), domains in known.items():
            self.novelty.learn(Scope(ScopeKind.CREDENTIAL, str(cred_id), name), list(domains), since)

    def observe_credential_domains(
        self, credential_id: int, domains: list[str], ts: float, name: str = ""
    ) -> None:
        """Optional input: recipient domains one credential sent to (novelty per credential)."""
        found = self.novelty.feed(Scope(ScopeKind.CREDENTIAL, str(credential_id), name), domains, ts)
        if found is not None:
            self.alerts_manager.observe([found], max(self._now, ts))

    # -- facts ---------------------------------------------------------------------------------

    def on_facts(self, result: IngestResult) -> None:
        """Take the facts of one ingest batch (AUTH failures feed the burst detector and a series)."""
        findings: list[Finding] = []
        latest = -math.inf
        for fact in result.facts_of(AuthFailure):
            if isinstance(fact, AuthFailure) and math.isfinite(fact.ts):
                found = self.bursts.feed(fact)
                findings.extend(f for f in found if not self._host_down(f.source))
                self._add(GLOBAL, "auth_failures", int(fact.ts // 60), 1)
                self._count_auth_failure(fact)
                latest = max(latest, fact.ts)
        if latest > -math.inf:
            self._advance(latest, findings)

    # -- operator actions ---------------------------------------------------------------------

    def acknowledge(self, key: str, comment: str, author: str | None = None) -> Alert | None:
        """Acknowledge an alert (persisted)."""
        alert = self.alerts_manager.acknowledge(key, author or self.author, comment, self._now)
        self._persist_alert_state(force=True)
        return alert

    def silence(self, match: str, duration: float, reason: str, author: str | None = None) -> None:
        """Silence alerts matching ``match`` for ``duration`` seconds (persisted)."""
        silence = self.alerts_manager.silence(match, duration, author or self.author, reason, self._now)
        if self._alert_store is not None:
            self._alert_store.save_silence(silence)
        self._persist_alert_state(force=True)
