"""What the host bar shows about each SSH host: one small state enum and an immutable status record."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class HostState(StrEnum):
    """Connection state of one host (the value is the short word the UI shows)."""

    CONNECTING = "connecting"
    """First connection attempt in progress."""
    CONNECTED = "connected"
    """Streaming logs."""
    RECONNECTING = "reconnecting"
    """Lost or failed; the next attempt is scheduled (see ``attempt`` and ``retry_in``)."""
    AUTH_FAILED = "auth failed"
    """The server refused our keys (or a key file could not be read); retried slowly."""
    HOST_KEY_UNKNOWN = "host key unknown"
    """Key in no known_hosts file: check ``fingerprint``, then ``postaltop hosts trust NAME``."""
    HOST_KEY_CHANGED = "HOST KEY CHANGED"
    """The host presented a key different from the one trusted: possible interception; never accepted."""
    SOURCE_NOT_FOUND = "no log source"
    """Connected, but no Postal containers, units or log files were found."""
    DISCONNECTED = "disconnected"
    """Stopped on request."""

    @property
    def is_problem(self) -> bool:
        """True for states that need the user's attention (shown in warning colours)."""
        return self in _PROBLEMS


_PROBLEMS = frozenset(
    {
        HostState.AUTH_FAILED,
        HostState.HOST_KEY_UNKNOWN,
        HostState.HOST_KEY_CHANGED,
        HostState.SOURCE_NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class HostStatus:
    """One host's state as published to the engine and the UI."""

    host: str
    state: HostState
    detail: str = ""
    """A sentence for the user (plain text, may contain remote output: neutralise before display)."""
    attempt: int = 0
    """Consecutive failed attempts (0 while connected)."""
    retry_in: float | None = None
    """Seconds until the next attempt, when one is scheduled."""
    fingerprint: str | None = None
    """SHA256 fingerprint of the key the host presented (host key states only)."""
    components: tuple[str, ...] = field(default_factory=tuple)
    """Components being streamed (``smtp``, ``worker``, ``web`` ...)."""

    def describe(self) -> str:
        """One line for the host bar / headless output."""
        text = f"{self.host}: {self.state.value}"
        if self.state is HostState.RECONNECTING and self.attempt:
            text += f" (attempt {self.attempt}"
            text += f", next in {self.retry_in:.0f}s)" if self.retry_in is not None else ")"
        if self.state is HostState.CONNECTED and self.components:
            text += f" [{', '.join(self.components)}]"
        if self.fingerprint:
            text += f" {self.fingerprint}"
        if self.detail:
            text += f" - {self.detail}"
        return text
