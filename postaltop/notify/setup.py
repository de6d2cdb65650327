"""Build the channels and the dispatcher from the ``[notify]`` section (secrets resolved here, once)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from postaltop import locations
from postaltop.config.secrets import read_secret
from postaltop.config.sections.notify import NotifyConfig
from postaltop.notify.channels import (
    AlertmanagerChannel,
    Channel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
)
from postaltop.notify.dispatcher import Dispatcher, LogFn, RetryPolicy
from postaltop.notify.silences import SilenceGate
from postaltop.store.incidents import IncidentStore


def build_channels(config: NotifyConfig, environ: Mapping[str, str] | None = None) -> list[Channel]:
    """The configured channels.

    Raises:
        SecretError: when a channel's secret cannot be read (the message never holds the secret).
    """
    base = config.runbook_url
    channels: list[Channel] = []
    if config.alertmanager is not None:
        am = config.alertmanager
        channels.append(
            AlertmanagerChannel(
                am.url,
                runbook_base=base,
                refresh_interval=am.refresh_interval,
                timeout=am.timeout,
                labels=dict(am.labels),
            )
        )
    if config.slack is not None:
        slack = config.slack
        url = read_secret("notify.slack webhook URL", slack.webhook_url_env, slack.webhook_url_file, environ)
        channels.append(SlackChannel(url, runbook_base=base, timeout=slack.timeout))
    if config.pagerduty is not None:
        pd = config.pagerduty
        key = read_secret("notify.pagerduty routing key", pd.routing_key_env, pd.routing_key_file, environ)
        channels.append(PagerDutyChannel(key, url=pd.url, runbook_base=base, timeout=pd.timeout))
    if config.email is not None:
        mail = config.email
        password = None
        if mail.password_env or mail.password_file:
            password = read_secret("notify.email password", mail.password_env, mail.password_file, environ)
        channels.append(
            EmailChannel(
                mail.host,
                mail.port,
                mail.sender,
                list(mail.recipients),
                username=mail.username,
                password=password,
                starttls=mail.starttls,
                tls=mail.tls,
                runbook_base=base,
                timeout=mail.timeout,
            )
        )
    return channels


def default_dead_letter_path() -> Path:
    """``dead-letters.jsonl`` in postaltop's state directory."""
    return locations.state_dir() / "dead-letters.jsonl"


def build_dispatcher(
    config: NotifyConfig,
    *,
    log: LogFn,
    environ: Mapping[str, str] | None = None,
    store: IncidentStore | None = None,
) -> Dispatcher:
    """A dispatcher over the configured channels.

    Args:
        config: the ``[notify]`` section.
        log: structured logger.
        environ: where ``*_env`` secrets are read (default: the process environment).
        store: open incidents kept across restarts (None: in memory only).

    Raises:
        SecretError: when a channel's secret cannot be read.
    """
    channels = build_channels(config, environ)
    gate = None
    am = config.alertmanager
    if am is not None and am.respect_silences:
        gate = SilenceGate(am.url, timeout=am.timeout, labels=am.labels)
    return Dispatcher(
        channels,
        repeat_interval=config.repeat_interval,
        retry=RetryPolicy(config.retry_attempts, config.retry_base, config.retry_cap),
        dead_letter=config.dead_letter_file or default_dead_letter_path(),
        min_severity=config.min_severity,
        log=log,
        gate=gate,
        gated=frozenset(c.name for c in channels if not isinstance(c, AlertmanagerChannel)),
        store=store,
        restore_grace=config.restore_grace,
    )


def incident_store(config: NotifyConfig, owner: str) -> IncidentStore:
    """The store of notified incidents for the instance ``owner`` (its config file, or the demo)."""
    return IncidentStore(owner, config.state_file)
