"""References to what an action targets, resolved by the executor (database or simulator) before planning."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerRef:
    """A mail server: ``servers.id`` and its ``org/server`` permalink."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """A credential: ``credentials.id``, its name and type (never its key)."""

    id: int
    name: str
    type: str
    server: ServerRef
