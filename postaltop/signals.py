"""Compromise signals beside the monitor: a credential from a new network, a new recipient country mix.

Glue without Textual, like :mod:`postaltop.monitoring`: it subscribes to an engine, feeds the pure detectors
of :mod:`postaltop.core.detect.client_ip` and :mod:`postaltop.core.detect.country_mix`, and hands their
findings to the :class:`~postaltop.monitoring.Monitor`, so they become alerts with the same lifecycle.

* **Client networks** come from the SMTP logs: ``Client identified as <ip>`` joined with ``235 Granted for
  <org>/<server>`` by the connection's ``trace_id``. The credential is named when the log names it (CRAM-MD5's
  ``Authenticated with with credential <id>``) or when the server has sent with a single SMTP credential in
  the polls seen so far; PLAIN/LOGIN keys are never logged, so otherwise only the server is judged.
  :attr:`CompromiseSignals.join_rate` says how many grants found their client line.
* **Recipient countries** come from the database polls: each server's top recipient domains and each
  credential's recipient domains of the window, mapped to countries by their ccTLD.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from postaltop.core.alerts import Finding, Scope, ScopeKind
from postaltop.core.dbmetrics import PollResult
from postaltop.core.detect.client_ip import ClientNetworkDetector
from postaltop.core.detect.country_mix import CountryMixDetector, country_counts
from postaltop.core.facts import AuthGranted, ClientIdentified, CredentialAuthenticated, Fact
from postaltop.core.session_rows import CLIENT, GRANT

MAX_CRAM_SESSIONS = 10_000
"""Connections whose CRAM-MD5 credential id is remembered until their grant (oldest forgotten first)."""


class CompromiseSignals:
    """Feeds the client-network and country-mix detectors from an engine and reports to a monitor."""

    def __init__(
        self,
        monitor: Any,
        clients: ClientNetworkDetector | None = None,
        countries: CountryMixDetector | None = None,
    ) -> None:
        self.monitor = monitor
        self.clients = clients or ClientNetworkDetector()
        self.countries = countries or CountryMixDetector()
        self._cram: OrderedDict[str, int] = OrderedDict()
        self._smtp_credentials: dict[str, set[int]] = {}
        """``org/server`` -> SMTP credential ids seen sending in the polls."""
        self._servers: dict[int, str] = {}
        self._unsubscribe: list[Callable[[], None]] = []

    def attach(self, engine: Any) -> None:
        """Subscribe to ``engine``'s facts and poll results."""
        self._unsubscribe = [engine.on_facts(self.on_facts), engine.on_metrics(self.on_metrics)]

    def detach(self) -> None:
        """Unsubscribe."""
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe = []

    @property
    def join_rate(self) -> float | None:
        """Share of ``235 Granted`` lines whose ``Client identified`` line was found (None before any)."""
        joined, unjoined = self.clients.sessions_joined, self.clients.sessions_unjoined
        return joined / (joined + unjoined) if joined + unjoined else None

    def on_facts(self, result: Any) -> None:
        """One ingest batch: client lines, CRAM-MD5 credentials and grants, in line order.

        Reads :meth:`~postaltop.core.ingest.IngestResult.session_rows` (the same facts as tuples: this
        runs for every batch, and building a frozen fact per SMTP session line cost more than the join).
        """
        findings: list[Finding] = []
        latest = None
        identified = self.clients.identified
        for _seq, ts, host, kind, trace_id, text, number in result.session_rows():
            if kind == CLIENT:
                identified(trace_id, text, ts)
            elif kind == GRANT:
                credential = self._credential_of(trace_id, text)
                findings.extend(self.clients.grant(trace_id, text, ts, host, credential))
                latest = ts
            elif trace_id:  # CRAM
                self._cram[trace_id] = number
                while len(self._cram) > MAX_CRAM_SESSIONS:
                    self._cram.popitem(last=False)
        if findings and latest is not None:
            self.monitor.report(findings, latest)

    def learn_history(self, facts: Iterable[Fact]) -> int:
        """Sessions read back from before the stream (``docker logs --since``): their networks become
        usual, and nothing is judged. Returns the sessions learnt."""
        clients: dict[str, str] = {}
        learnt = 0
        facts_sorted = sorted(facts, key=lambda f: f.ts)
        for fact in facts_sorted:
            if isinstance(fact, ClientIdentified) and fact.trace_id:
                clients[fact.trace_id] = fact.ip
            elif isinstance(fact, CredentialAuthenticated) and fact.trace_id:
                self._cram[fact.trace_id] = fact.credential_id
            elif isinstance(fact, AuthGranted) and fact.trace_id in clients:
                ip = clients.pop(fact.trace_id)
                server = f"{fact.org}/{fact.server}"
                self.clients.learn(Scope(ScopeKind.SERVER, server), ip, fact.ts)
                credential = self._credential_of(fact.trace_id, server)
                if credential is not None:
                    self.clients.learn(credential, ip, fact.ts)
                learnt += 1
        ends = [f.ts for f in facts_sorted if isinstance(f, AuthGranted)]
        if ends:
            self.clients.rearm(max(ends) + 1e-6)
        return learnt

    def _credential_of(self, trace_id: str | None, server: str) -> Scope | None:
        cred_id = self._cram.pop(trace_id, None) if trace_id and self._cram else None
        if cred_id is None:
            ids = self._smtp_credentials.get(server)
            cred_id = next(iter(ids)) if ids is not None and len(ids) == 1 else None
        return None if cred_id is None else self.monitor.credential_scope(cred_id)

    def on_metrics(self, result: PollResult) -> None:
        """One poll: learn which SMTP credentials each server uses; judge the window's recipient countries."""
        for info in result.servers:
            self._servers[info.id] = info.full_permalink
        for cred in result.credentials:
            server = self._servers.get(cred.server_id)
            if server is not None and cred.type.upper() == "SMTP":
                self._smtp_credentials.setdefault(server, set()).add(cred.credential_id)
        fresh = [x.sampled_at for x in result.samples if not x.stale]
        if not result.connected or not fresh:
            return
        ts = max(fresh)  # the data's clock, as the monitor's
        findings: list[Finding] = []
        per_server: dict[int, list[tuple[str, float]]] = {}
        for d in result.domains:
            per_server.setdefault(d.server_id, []).append((d.domain, float(d.count)))
        for server_id, pairs in per_server.items():
            scope = Scope(ScopeKind.SERVER, self._servers.get(server_id, str(server_id)))
            found = self.countries.judge(scope, country_counts(pairs), ts)
            if found is not None:
                findings.append(found)
        per_cred: dict[int, list[tuple[str, float]]] = {}
        for c in result.credential_domains:
            per_cred.setdefault(c.credential_id, []).append((c.domain, float(c.count)))
        for cred_id, pairs in per_cred.items():
            found = self.countries.judge(self.monitor.credential_scope(cred_id), country_counts(pairs), ts)
            if found is not None:
                findings.append(found)
        if findings:
            self.monitor.report(findings, ts)
