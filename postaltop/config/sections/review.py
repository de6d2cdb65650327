"""The ``[review]`` settings: the checklist, the release table and where reports go (pydantic only)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ReviewStepConfig(BaseModel):
    """A checklist step added (or replacing the packaged step with the same id)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    """Step id (lower-case letters, digits, ``-``, ``_``); the same id as a packaged step replaces it."""
    title: str = Field(min_length=1, max_length=100)
    """Heading of the step's screen and report section."""
    kind: str = "lines"
    """How the evidence is computed: auth, sending, errors, limits, held_bounced, versions or lines."""
    filter: str = ""
    """Log lines shown, in the main screen's filter language."""
    question: str = ""
    """What the reviewer should answer."""


class ReviewConfig(BaseModel):
    """Guided log reviews and reports (``postaltop review``, ``postaltop report``, ``postaltop versions``)."""

    model_config = ConfigDict(extra="forbid")

    checklist_file: Path | None = None
    """A checklist TOML replacing the packaged one (same format as postaltop/data/checklist.toml)."""
    steps: list[ReviewStepConfig] = Field(default_factory=list)
    """Steps added after the checklist's (or replacing those with the same id)."""
    skip: list[str] = Field(default_factory=list)
    """Step ids left out."""
    releases_file: Path | None = None
    """A newer table of Postal releases (same format as postaltop/data/releases.toml); no network is used."""
    report_dir: Path | None = None
    """Where `postaltop review` writes its reports (default: the data directory's reports/)."""
    top: int = Field(default=10, ge=1, le=100)
    """Rows per evidence table."""
    sample_lines: int = Field(default=40, ge=0, le=1000)
    """Matching log lines kept per step."""
