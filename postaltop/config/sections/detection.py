"""The ``[detection]`` section: thresholds, minimum volumes and alert timings (pydantic only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

_MODEL = ConfigDict(extra="forbid", validate_default=True)


class StaticLimit(BaseModel):
    """Fixed per-minute limits of one metric (``[detection.static.<metric>]``)."""

    model_config = _MODEL

    warning: float | None = Field(default=None, ge=0)
    """Per-minute value (or queue depth) at which a warning is raised; unset = none."""
    critical: float | None = Field(default=None, ge=0)
    """Per-minute value (or queue depth) at which a critical alert is raised; unset = none."""


def _default_static() -> dict[str, StaticLimit]:
    return {"queue_depth": StaticLimit(warning=5000, critical=20000)}


class DetectionConfig(BaseModel):
    """The ``[detection]`` section: how anomalies are detected and how alerts behave."""

    model_config = _MODEL

    enabled: bool = True
    """Raise alerts at all (when false the chart and baselines still work)."""
    static: dict[str, StaticLimit] = Field(default_factory=_default_static)
    """Static limits per metric (``sent``, ``bounced``, ``held``, ``spam``, ``queue_depth``), per scope."""
    z_warning: float = Field(default=5.0, gt=0)
    """Robust z-score (against the hour-of-week baseline) that raises a warning."""
    z_critical: float = Field(default=10.0, gt=0)
    """Robust z-score that raises a critical alert."""
    min_rate_per_minute: float = Field(default=5.0, ge=0)
    """Rates below this per minute are never called anomalous (small scopes are noisy)."""
    min_baseline_samples: int = Field(default=3, ge=1, le=100)
    """Hourly samples a baseline slot needs (pooled with its neighbours) before it stops "learning"."""
    auth_failures_per_ip_warning: int = Field(default=10, ge=1)
    """SMTP AUTH failures from one IP (or for one user name) per minute that raise a warning."""
    auth_failures_per_ip_critical: int = Field(default=30, ge=1)
    """... and a critical alert."""
    auth_failures_total_warning: int = Field(default=20, ge=1)
    """SMTP AUTH failures per minute over all IPs that raise a warning."""
    auth_failures_total_critical: int = Field(default=60, ge=1)
    """... and a critical alert."""
    ratio_window_minutes: int = Field(default=10, ge=1, le=120)
    """Window of the bounce and spam rates."""
    min_volume: int = Field(default=100, ge=1)
    """Delivery attempts within the window from which a bounce or spam rate counts as measured; from 20
    attempts up to this, only the rate's lower confidence bound is judged."""
    bounce_rate_warning: float = Field(default=0.08, gt=0, le=1)
    """Bounce rate (hard fails + bounces / attempts) that raises a warning."""
    bounce_rate_critical: float = Field(default=0.15, gt=0, le=1)
    """Bounce rate that raises a critical alert."""
    spam_rate_warning: float = Field(default=0.02, gt=0, le=1)
    """Share of deliveries flagged spam that raises a warning."""
    spam_rate_critical: float = Field(default=0.05, gt=0, le=1)
    """Share of deliveries flagged spam that raises a critical alert."""
    new_domains_warning: int = Field(default=10, ge=1)
    """New recipient domains within 10 minutes (per server/credential) that raise a warning."""
    new_domains_critical: int = Field(default=30, ge=1)
    """... and a critical alert."""
    queue_min_depth: int = Field(default=200, ge=0)
    """Queue depth below which growth is not reported."""
    queue_growth_warning: float = Field(default=200.0, gt=0)
    """Messages the queue must gain over 10 minutes for a warning."""
    backfill_minutes: int = Field(default=360, ge=0, le=7 * 1440)
    """Minutes of the recent past read per minute at first connect (0 = none): detectors judge them at once,
    so an incident already under way is flagged within the first poll cycles."""
    credential_history_hours: int = Field(default=48, ge=0, le=60 * 24)
    """Hours of message history before that window read for credential baselines and usual domains."""
    backfill_top_domains: int = Field(default=10, ge=0, le=100)
    """Recipient domains charted per server in the backfill (the rest counts as ``other``)."""
    ratio_baseline_factor: float = Field(default=3.0, ge=1)
    """A bounce/spam rate must also be this multiple of the scope's usual rate to warn (5/3 of it for
    critical)."""
    send_limit_held_warning: int = Field(default=10, ge=1)
    """Messages held by a server's send limit within 10 minutes that raise a warning."""
    send_limit_held_critical: int = Field(default=50, ge=1)
    """... and a critical alert."""
    pending_seconds: float = Field(default=60.0, ge=0, le=3600)
    """A warning must persist this long before its alert fires (AUTH bursts fire at once)."""
    critical_pending_seconds: float = Field(default=0.0, ge=0, le=3600)
    """Same for critical findings."""
    resolve_after_seconds: float = Field(default=300.0, ge=0, le=86400)
    """Hysteresis: an alert resolves after this long without a finding."""

    @model_validator(mode="after")
    def _check_order(self) -> DetectionConfig:
        pairs = (
            ("z_warning", "z_critical"),
            ("auth_failures_per_ip_warning", "auth_failures_per_ip_critical"),
            ("auth_failures_total_warning", "auth_failures_total_critical"),
            ("bounce_rate_warning", "bounce_rate_critical"),
            ("spam_rate_warning", "spam_rate_critical"),
            ("new_domains_warning", "new_domains_critical"),
            ("send_limit_held_warning", "send_limit_held_critical"),
        )
        for low, high in pairs:
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} must not exceed {high}")
        return self
