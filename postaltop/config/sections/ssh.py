"""The ``[ssh]`` section: how hosts are reached and how their log streams are merged."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SshSection(BaseModel):
    """The ``[ssh]`` section (every key optional)."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    known_hosts: list[str] | None = None
    """known_hosts files trusted for host keys; the first one is where ``postaltop hosts trust`` writes.
    Default: ``~/.ssh/known_hosts`` and ``/etc/ssh/ssh_known_hosts`` (trust writes to the first)."""
    ssh_config: list[str] | None = None
    """OpenSSH client config files to honour; default ``~/.ssh/config`` when it exists, ``[]`` for none."""
    connect_timeout: float = Field(default=15.0, gt=0.0, le=300.0)
    """Seconds one connection attempt may take."""
    keepalive_interval: float = Field(default=15.0, ge=1.0, le=600.0)
    """Seconds between SSH keepalives; a host missing ``keepalive_count_max`` of them is reconnected."""
    keepalive_count_max: int = Field(default=3, ge=1, le=100)
    """Unanswered keepalives before the connection is considered lost."""
    merge_window: float = Field(default=1.0, ge=0.0, le=30.0)
    """Seconds a batch of lines may wait for older lines from other hosts (time-order merge)."""
    skew_tolerance: float = Field(default=2.0, ge=0.0, le=3600.0)
    """Clock difference (seconds) between hosts beyond which the host bar reports a skewed clock."""
