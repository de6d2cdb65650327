"""Headless scenario runs for the detection tests (the logic lives in :mod:`postaltop.detection_run`)."""

from __future__ import annotations

from postaltop.detection_run import Run, run_scenario

__all__ = ["Run", "run_scenario"]
