"""Which Postal server an alert's action would write to, learnt from the database polls (pure)."""

from __future__ import annotations

from postaltop.core.alerts import Alert, ScopeKind
from postaltop.core.dbmetrics import PollResult


class ServerDirectory:
    """Server ids -> ``org/server`` and credential ids -> server id, from every poll result seen."""

    def __init__(self) -> None:
        self.servers: dict[int, str] = {}
        self.credential_server: dict[int, int] = {}

    def observe(self, result: PollResult) -> None:
        """Learn from one poll cycle (servers discovered, credentials that sent)."""
        for info in result.servers:
            self.servers[info.id] = info.full_permalink
        for cred in result.credentials:
            self.credential_server[cred.credential_id] = cred.server_id
        for sample in result.credential_domains:
            self.credential_server.setdefault(sample.credential_id, sample.server_id)

    def server_of(self, alert: Alert) -> str | None:
        """``org/server`` of a server or credential alert; None when it is not known (yet)."""
        scope = alert.scope
        if scope.kind is ScopeKind.SERVER:
            return scope.key if "/" in scope.key else self._by_id(scope.key)
        if scope.kind is ScopeKind.CREDENTIAL and scope.key.isdigit():
            server_id = self.credential_server.get(int(scope.key))
            return None if server_id is None else self.servers.get(server_id)
        return None

    def _by_id(self, key: str) -> str | None:
        return self.servers.get(int(key)) if key.isdigit() else None
