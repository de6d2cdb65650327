"""``[[respond]]`` policies and ``[respond_control]`` (kill switch, fleet-wide rate limit); pydantic only."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from postaltop.core.alerts import Severity
from postaltop.core.respond import RESPONSE_ACTIONS, BusinessHours, ResponseMode, ResponsePolicy

_MODEL = ConfigDict(extra="forbid", validate_default=True)
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")


class RespondPolicyConfig(BaseModel):
    """One ``[[respond]]`` entry: which alerts, which action, which guards, notify or act."""

    model_config = _MODEL

    name: str = Field(min_length=1, max_length=64)
    """Shown in notifications and the audit trail."""
    action: str
    """``credential-hold``, ``hold-queued`` (the credential's queued mail) or ``server-send-limit``."""
    kinds: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    """Alert kinds answered (patterns: ``novelty``, ``zscore``, ``ratio:*``, ``*``)."""
    min_severity: Severity = Severity.CRITICAL
    """Lowest severity answered."""
    mode: ResponseMode = ResponseMode.NOTIFY
    """``notify`` (default): say what would be done. ``act``: do it."""
    firing_minutes: float = Field(default=2.0, ge=0, le=1440)
    """Minutes the alert must have been firing before the policy acts."""
    cooldown_minutes: float = Field(default=60.0, ge=0, le=10080)
    """After acting on a credential or server, minutes before this policy acts on it again (flapping)."""
    agree: int = Field(default=1, ge=1, le=10)
    """Distinct detectors that must be firing on the same scope (2 = two detectors agree)."""
    send_limit: int | None = Field(default=None, ge=0)
    """New send limit (messages per hour) for ``server-send-limit``."""
    protected: list[str] = Field(default_factory=list)
    """Servers (``org/server`` patterns) this policy never acts on."""
    business_hours: str | None = None
    """``mon-fri 09:00-18:00``: with ``act_in_business_hours = false`` the policy only notifies then."""
    utc_offset: str = "+00:00"
    """The business hours' UTC offset (``+01:00``)."""
    act_in_business_hours: bool = True
    """False: inside business hours only notify (people are there to decide)."""

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in RESPONSE_ACTIONS:
            raise ValueError(f"must be one of {', '.join(RESPONSE_ACTIONS)}")
        return value

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        if _OFFSET.fullmatch(value.strip()) is None:
            raise ValueError("a UTC offset such as +01:00 or -0500")
        return value.strip()

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            BusinessHours.parse(value)
        return value

    @model_validator(mode="after")
    def _limit_given(self) -> RespondPolicyConfig:
        if self.action == "server-send-limit" and self.send_limit is None:
            raise ValueError("server-send-limit needs send_limit")
        return self

    def policy(self) -> ResponsePolicy:
        """The pure policy the decider runs."""
        m = _OFFSET.fullmatch(self.utc_offset)
        assert m is not None  # validated
        offset = (1 if m[1] == "+" else -1) * (int(m[2]) * 60 + int(m[3]))
        hours = BusinessHours.parse(self.business_hours, offset) if self.business_hours else None
        return ResponsePolicy(
            name=self.name,
            action=self.action,
            kinds=tuple(self.kinds),
            min_severity=self.min_severity,
            mode=self.mode,
            firing_for=self.firing_minutes * 60,
            agree=self.agree,
            cooldown=self.cooldown_minutes * 60,
            send_limit=self.send_limit,
            protected=tuple(self.protected),
            business_hours=hours,
            act_in_business_hours=self.act_in_business_hours,
        )


class RespondControlConfig(BaseModel):
    """``[respond_control]``: what stops or limits every policy at once."""

    model_config = _MODEL

    kill_switch: bool = False
    """True: no policy acts (they still notify what they would have done)."""
    kill_file: Path | None = None
    """While this file exists no policy acts (default: ``respond.stop`` in the state directory)."""
    max_actions_per_hour: int = Field(default=3, ge=0, le=100)
    """Automatic actions allowed per hour, every policy and server together."""


def check_unique_names(policies: list[RespondPolicyConfig]) -> list[RespondPolicyConfig]:
    """Policy names identify them in notifications and the audit: they must differ."""
    seen: set[str] = set()
    for p in policies:
        if p.name in seen:
            raise ValueError(f"two [[respond]] policies are named {p.name!r}")
        seen.add(p.name)
    return policies
