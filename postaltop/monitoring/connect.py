"""The state at first connect: baselines from Postal's statistics; the recent past judged by minute."""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Iterable
from typing import Any

from postaltop.core.alerts import GLOBAL, Finding, Scope, ScopeKind
from postaltop.core.connect_state import (
    OTHER_DOMAIN,
    Backfill,
    ConnectRequest,
    ConnectState,
    domain_hour_rates,
    fold_backfill,
)
from postaltop.core.dbmetrics import HistoryPoint, PollResult, ServerInfo
from postaltop.monitoring.health import HealthLayer
from postaltop.monitoring.state import (
    BASELINE_RATIO_MIN_VOLUME,
    RATE_METRICS,
    HistoryProvider,
    StateProvider,
)


class ConnectLayer(HealthLayer):
    """Bootstraps the baselines and novelty at first connect and replays the backfill."""

    def bootstrap(
        self, points: Iterable[HistoryPoint], servers: Iterable[ServerInfo] = (), now: float | None = None
    ) -> int:
        """Seed the baselines from Postal's hourly/daily statistics. Returns the hourly samples added."""
        for info in servers:
            self.servers[info.id] = info
        scopes = {sid: self.scope_of_server(sid) for sid in self.servers}
        added = self.baselines.bootstrap(points, scopes, now)
        self.bootstrapped = True
        self._persist_baselines()
        return added

    def set_history_provider(self, provider: HistoryProvider) -> None:
        """Bootstrap from ``provider()`` (a list of HistoryPoints, or an awaitable of one) at first connect.

        ``PostalDbSource.history`` and ``DemoMetricsSource.history`` both fit. Called once, when the first
        connected poll result arrives (its server list names the scopes).
        """
        self._history_provider = provider

    async def history_loaded(self) -> None:
        """Wait for a history bootstrap in progress (returns at once when there is none)."""
        task = self._bootstrap_task
        if task is not None:
            await task

    @property
    def has_history_provider(self) -> bool:
        """True once a history provider is set (sources set theirs only if nobody else did)."""
        return self._history_provider is not None

    def _maybe_bootstrap(self, result: PollResult) -> None:
        provider = self._history_provider
        if provider is None or self._history_done or not result.connected:
            return
        self._history_done = True
        servers = list(result.servers)
        try:
            points = provider()
        except Exception:  # a failed history read must not stop monitoring: the scopes stay "learning"
            self.history_error = "could not read Postal's statistics"
            return
        if inspect.isawaitable(points):
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                close = getattr(points, "close", None)
                if callable(close):
                    close()  # a coroutine that will never run: close it (no "never awaited" warning)
                self._history_done = False  # no loop yet: try again at the next poll
                return

            async def wait(awaitable: Any) -> None:
                try:
                    self.bootstrap(await awaitable, servers)
                except Exception:  # the scopes stay "learning"; monitoring goes on
                    self.history_error = "could not read Postal's statistics"

            self._bootstrap_task = loop.create_task(wait(points))
            return
        self.bootstrap(points, servers)

    # -- state at connect -----------------------------------------------------------------------

    def set_state_provider(self, provider: StateProvider) -> None:
        """Read the state at connect from ``provider(request)`` (a ConnectState, or an awaitable of one).

        Called once, at the first connected poll with fresh figures: its database time ends the backfill.
        ``PostalDbSource.connect_state`` (through the database runner) and ``DemoMetricsSource.connect_state``
        both fit. Poll results arriving while it is read are held back and judged after it, in order.
        """
        self._state_provider = provider

    @property
    def has_state_provider(self) -> bool:
        """True once a state provider is set."""
        return self._state_provider is not None

    def connect_request(self, until: float) -> ConnectRequest:
        """What this monitor's settings ask of a source at connect, ending at database time ``until``."""
        c = self.config
        return ConnectRequest(
            until=until,
            backfill_seconds=c.backfill_minutes * 60.0,
            credential_history_seconds=c.credential_history_hours * 3600.0,
            top_domains=c.backfill_top_domains,
        )

    def apply_state(self, state: ConnectState) -> None:
        """Bootstrap baselines and novelty from ``state`` and judge its backfill, minute by minute."""
        self.connect_state = state
        backfill = state.backfill
        start = backfill.start if backfill is not None and backfill.end > backfill.start else None
        for cred in state.credentials:
            server = self.servers.get(cred.server_id)
            where = f" on {server.full_permalink}" if server is not None else ""
            self._credential_labels[cred.id] = f"{cred.name}{where}"
        self.bootstrap(state.history, (), now=start)
        self._bootstrap_ratios(state.history, start)
        self._bootstrap_credentials(state, start)
        if backfill is not None and start is not None:
            self._replay(backfill)
            self._covered_until = backfill.end
            self.future_rows += backfill.future_rows
        self._history_done = True  # the state includes the statistics

    def _bootstrap_ratios(self, points: Iterable[HistoryPoint], before: float | None) -> None:
        """Each server's (and the installation's) usual bounce rate from the hourly statistics."""
        sums: dict[int, list[int]] = {}
        for p in points:
            if p.granularity != "hour" or (before is not None and p.time + 3600 > before):
                continue
            acc = sums.setdefault(p.server_id, [0, 0])
            acc[0] += max(0, p.bounces)
            acc[1] += max(0, p.outgoing)
        total = [0, 0]
        for sid, (bounces, outgoing) in sums.items():
            total[0] += bounces
            total[1] += outgoing
            if outgoing >= BASELINE_RATIO_MIN_VOLUME:
                self.ratios.set_baseline(self.scope_of_server(sid), "bounce_rate", bounces / outgoing)
        if total[1] >= BASELINE_RATIO_MIN_VOLUME:
            self.ratios.set_baseline(GLOBAL, "bounce_rate", total[0] / total[1])

    def _bootstrap_credentials(self, state: ConnectState, before: float | None) -> None:
        """Credential baselines (hourly samples, zeros for silent hours) and usual recipient domains."""
        known: dict[int, list[str]] = {}
        for cred, domain in state.credential_domains:
            known.setdefault(cred, []).append(domain)
        for cred, domains in known.items():
            self.novelty.learn(self.credential_scope(cred), domains, state.credential_since)
        if before is None:
            return
        since = math.ceil(state.credential_since / 3600.0) * 3600
        last = int(before // 3600) * 3600  # hours ending at or before the backfill's start
        per: dict[int, dict[int, float]] = {}
        for h in state.credential_hours:
            per.setdefault(h.credential_id, {})[h.hour] = (
                per.get(h.credential_id, {}).get(h.hour, 0.0) + h.count
            )
        for cred, hours in per.items():
            scope = self.credential_scope(cred)
            self._profiled.add(scope)
            first = max(since, min(hours))
            for hour in range(first, last, 3600):
                self.baselines.add_sample(scope, "sent", hour, hours.get(hour, 0.0) / 60.0, record=False)
        domain_rates = domain_hour_rates(
            state.domain_hours, lambda sid: self.scope_of_server(sid).key, since, before
        )
        for key, rates in domain_rates.items():
            scope = Scope(ScopeKind.DOMAIN, key)
            self._profiled.add(scope)
            for hour, rate in rates.items():
                self.baselines.add_sample(scope, "sent", hour, rate, record=False)

    def _replay(self, backfill: Backfill) -> None:
        """Judge the backfill minute by minute, as if each had been polled live (zero minutes included)."""
        figures = fold_backfill(backfill)
        servers = sorted(
            {m.server_id for m in backfill.messages} | {d.server_id for d in backfill.deliveries}
        )
        creds = {m.credential_id for m in backfill.messages if m.credential_id}
        first = int(backfill.start // 60)
        last = int(backfill.end // 60)
        for minute in range(first, last + 1):
            per_server = figures.get(minute, {})
            findings: list[Finding] = []
            ts = minute * 60.0 + 30.0
            upto = min(minute * 60.0 + 60.0, backfill.end)  # the minute's end (the last one is partial)
            for sid in servers:
                fig = per_server.get(sid)
                scope = self.scope_of_server(sid)
                if fig is None:
                    for metric in RATE_METRICS:
                        self._add(scope, metric, minute, 0.0)
                        self._add(GLOBAL, metric, minute, 0.0)
                    continue
                findings += self._add_counts(scope, minute, fig.outgoing, fig.bounced, fig.held, fig.spam,
                                             fig.sent, fig.hard_fail, upto, upto - minute * 60.0)  # fmt: skip
                for cred, count in fig.credentials.items():
                    self._add(self.credential_scope(cred), "sent", minute, count)
                for domain, count in fig.domains.items():
                    key = domain.lower() if domain != OTHER_DOMAIN else f"{OTHER_DOMAIN} ({scope.key})"
                    self._add(Scope(ScopeKind.DOMAIN, key), "sent", minute, count)
                for cred, domains in fig.new_domains.items():
                    found = self.novelty.feed(self.credential_scope(cred), domains, ts)
                    if found is not None:
                        findings.append(found)
                if fig.held_send_limit:
                    self.send_limit.observe_held(
                        scope, ts, fig.held_send_limit, self._senders(fig.held_by_credential)
                    )
            for cred in creds:
                self._add(self.credential_scope(cred), "sent", minute, 0.0)
            findings += self._judge_global_ratio()
            for sid in servers:
                info = self.servers.get(sid)
                found = self.send_limit.judge(
                    self.scope_of_server(sid), ts, limit=info.send_limit if info is not None else None
                )
                if found is not None:
                    findings.append(found)
            self._advance(ts, findings)
