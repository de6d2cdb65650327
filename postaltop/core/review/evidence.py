"""The evidence of each checklist step, computed from a :class:`~.inputs.ReviewInput`.

Facts (typed, extracted at ingest from every line) give the counts; the step's filter, run with the
main screen's matcher over the retained lines, gives the log lines shown. Nothing here reads the
clock or any file. The steps live in :mod:`.steps_traffic` (authentication, sending) and
:mod:`.steps_delivery` (errors, limits, held and bounced, versions); the helpers in :mod:`.evidence_base`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from postaltop.core.facts import Fact
from postaltop.core.review.checklist import Step
from postaltop.core.review.evidence_base import in_window, lines_evidence, matching_lines, normalise_reason
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.review.model import Evidence
from postaltop.core.review.steps_delivery import errors, held_bounced, limits, versions
from postaltop.core.review.steps_traffic import AUTH_IP_HIGH, DEVIATION_MIN, DEVIATION_RATIO, auth, sending

__all__ = [
    "AUTH_IP_HIGH",
    "DEVIATION_MIN",
    "DEVIATION_RATIO",
    "all_evidence",
    "matching_lines",
    "normalise_reason",
    "step_evidence",
]


_KINDS: dict[str, Callable[[ReviewInput, Step, list[Fact]], Evidence]] = {
    "auth": auth,
    "sending": sending,
    "errors": errors,
    "limits": limits,
    "held_bounced": held_bounced,
    "versions": versions,
}


def step_evidence(data: ReviewInput, step: Step, facts: list[Fact] | None = None) -> Evidence:
    """The evidence of one step (``facts``: the input's facts already cut to the window)."""
    window_facts = facts if facts is not None else in_window(data.window, data.facts)
    if data.hosts:
        wanted = set(data.hosts)
        window_facts = [f for f in window_facts if f.host in wanted]
    compute = _KINDS.get(step.kind)
    evidence = compute(data, step, window_facts) if compute is not None else lines_evidence(data, step)
    if data.note and step.kind != "versions":
        evidence = replace(evidence, note=" ".join(n for n in (evidence.note, data.note) if n))
    return evidence


def all_evidence(data: ReviewInput, steps: list[Step]) -> list[Evidence]:
    """The evidence of every step, in checklist order."""
    facts = in_window(data.window, data.facts)
    return [step_evidence(data, step, facts) for step in steps]
