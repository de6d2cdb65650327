"""The ``[notify]`` section: where ``postaltop watch`` sends alert notifications, and how often.

Secrets (webhook URLs, routing keys, the SMTP password) are named, never written: each channel takes the
name of an environment variable (``*_env``) or of a file readable by its owner only (``*_file``). A secret
written directly in the configuration is refused with a message saying so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_MODEL = ConfigDict(extra="forbid", validate_default=True)
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _refuse_secret(name: str) -> Any:
    def check(value: object) -> None:
        if value not in (None, ""):
            raise ValueError(
                f"a secret is never written in the configuration: remove {name} and set {name}_env (the name "
                f"of an environment variable) or {name}_file (a file with mode 0600) instead"
            )
        return None

    return field_validator(name, mode="before")(lambda cls, value: check(value))


def _one_source(model: Any, name: str) -> Any:
    env, file = getattr(model, f"{name}_env"), getattr(model, f"{name}_file")
    if env and file:
        raise ValueError(f"set only one of {name}_env and {name}_file")
    if not env and not file:
        raise ValueError(f"set {name}_env (an environment variable's name) or {name}_file (a 0600 file)")
    return model


class AlertmanagerChannelConfig(BaseModel):
    """Prometheus Alertmanager (API v2)."""

    model_config = _MODEL

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(
                    f"label name {name!r} is not a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*)"
                )
        return value

    url: str = Field(min_length=1, pattern=r"^https?://")
    """Base URL of Alertmanager (``http://127.0.0.1:9093``); alerts are POSTed to ``/api/v2/alerts``."""
    refresh_interval: float = Field(default=60.0, ge=5.0, le=3600.0)
    """Seconds between re-posts of an open alert (Alertmanager resolves alerts that are not re-posted)."""
    timeout: float = Field(default=10.0, gt=0.0, le=120.0)
    """Seconds before a request is given up (and retried)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels on every alert this instance posts, e.g. ``{ group = "eu" }``: with several watch
    instances on one Alertmanager, they keep the same incident key of two host groups apart (and can be
    matched by silences and routes). They never replace postaltop's own labels."""
    respect_silences: bool = True
    """Before paging through the other channels (Slack, PagerDuty, e-mail), read Alertmanager's active
    silences; an incident one of them matches (``amtool silence add incident=KEY``) is not paged there.
    When Alertmanager cannot be read, the page goes out."""


class SlackChannelConfig(BaseModel):
    """A Slack incoming webhook."""

    model_config = _MODEL

    webhook_url: None = None
    """Refused: the webhook URL is a secret (use ``webhook_url_env`` or ``webhook_url_file``)."""
    webhook_url_env: str | None = Field(default=None, pattern=_ENV_NAME)
    """Environment variable holding the webhook URL."""
    webhook_url_file: Path | None = None
    """File (mode 0600) holding the webhook URL."""
    timeout: float = Field(default=10.0, gt=0.0, le=120.0)
    """Seconds before a request is given up (and retried)."""

    _no_url = _refuse_secret("webhook_url")

    @model_validator(mode="after")
    def _source(self) -> SlackChannelConfig:
        return _one_source(self, "webhook_url")  # type: ignore[no-any-return]


class PagerDutyChannelConfig(BaseModel):
    """PagerDuty Events API v2 (trigger and resolve, deduplicated by the incident key)."""

    model_config = _MODEL

    routing_key: None = None
    """Refused: the routing key is a secret (use ``routing_key_env`` or ``routing_key_file``)."""
    routing_key_env: str | None = Field(default=None, pattern=_ENV_NAME)
    """Environment variable holding the integration's routing key."""
    routing_key_file: Path | None = None
    """File (mode 0600) holding the routing key."""
    url: str = Field(default="https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://")
    """Events API endpoint."""
    timeout: float = Field(default=10.0, gt=0.0, le=120.0)
    """Seconds before a request is given up (and retried)."""

    _no_key = _refuse_secret("routing_key")

    @model_validator(mode="after")
    def _source(self) -> PagerDutyChannelConfig:
        return _one_source(self, "routing_key")  # type: ignore[no-any-return]


class EmailChannelConfig(BaseModel):
    """E-mail over SMTP."""

    model_config = _MODEL

    host: str = Field(min_length=1, max_length=255)
    """SMTP server."""
    port: int = Field(default=587, ge=1, le=65535)
    """SMTP port (587 submission with STARTTLS, 465 with ``tls``, 25 plain)."""
    starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in (certificate verified)."""
    tls: bool = False
    """Connect with implicit TLS (SMTPS, usually port 465) instead of STARTTLS."""
    username: str | None = Field(default=None, min_length=1)
    """Login name; no login when absent."""
    password: None = None
    """Refused: the password is a secret (use ``password_env`` or ``password_file``)."""
    password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    """Environment variable holding the SMTP password."""
    password_file: Path | None = None
    """File (mode 0600) holding the SMTP password."""
    sender: str = Field(min_length=3, max_length=320)
    """The From address."""
    recipients: list[str] = Field(min_length=1)
    """Where notifications go."""
    timeout: float = Field(default=20.0, gt=0.0, le=300.0)
    """Seconds before a delivery attempt is given up (and retried)."""

    _no_password = _refuse_secret("password")

    @model_validator(mode="after")
    def _login(self) -> EmailChannelConfig:
        if self.password_env and self.password_file:
            raise ValueError("set only one of password_env and password_file")
        if self.username and not (self.password_env or self.password_file):
            raise ValueError("username is set: set password_env or password_file too")
        if self.tls and self.starttls:
            self.starttls = False
        return self


class NotifyConfig(BaseModel):
    """Alert notifications sent by ``postaltop watch``."""

    model_config = _MODEL

    min_severity: str = Field(default="warning", pattern=r"^(info|warning|critical)$")
    """Alerts below this severity are not sent (``info``, ``warning`` or ``critical``)."""
    repeat_interval: float = Field(default=14_400.0, ge=60.0, le=604_800.0)
    """Seconds before a still-open incident is notified again (one notification per incident until then)."""
    retry_attempts: int = Field(default=5, ge=1, le=20)
    """Delivery attempts per notification and channel before it goes to the dead-letter log."""
    retry_base: float = Field(default=2.0, gt=0.0, le=300.0)
    """First retry delay in seconds; doubled after each failure."""
    retry_cap: float = Field(default=120.0, gt=0.0, le=3600.0)
    """Longest retry delay in seconds."""
    dead_letter_file: Path | None = None
    """JSONL file of undeliverable notifications (default: ``dead-letters.jsonl`` in the state directory)."""
    state_file: Path | None = None
    """SQLite file of the open incidents already notified, so a restarted watch does not page them again
    (default: ``notified-incidents.sqlite3`` in the state directory; rows are kept per config file)."""
    restore_grace: float = Field(default=900.0, ge=0.0, le=86_400.0)
    """Seconds a restarted watch waits for the detectors to confirm an incident notified before the
    restart; one still unconfirmed then is resolved (and the resolve notified)."""
    runbook_url: str = Field(default="docs/runbook.md", min_length=1)
    """Base of the runbook links put in notifications (the step's anchor is appended after ``#``)."""
    alertmanager: AlertmanagerChannelConfig | None = None
    """Send to Alertmanager."""
    slack: SlackChannelConfig | None = None
    """Send to a Slack incoming webhook."""
    pagerduty: PagerDutyChannelConfig | None = None
    """Send to PagerDuty."""
    email: EmailChannelConfig | None = None
    """Send e-mail."""
