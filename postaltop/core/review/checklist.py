"""The review checklist: steps read from TOML, extended or replaced by the operator's config."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS: tuple[str, ...] = ("auth", "sending", "errors", "limits", "held_bounced", "versions", "lines")
"""How a step's evidence is computed; ``lines`` shows only the lines matching its filter."""
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class ChecklistError(ValueError):
    """A checklist that cannot be used (the message names the step and the problem)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One checklist step (one screen of ``postaltop review``)."""

    id: str
    title: str
    kind: str = "lines"
    filter: str = ""
    """Lines shown as evidence, in the filter language of the main screen."""
    question: str = ""
    """What the reviewer should answer."""


def step_from_mapping(item: Mapping[str, Any], where: str) -> Step:
    """Build a step from a TOML table / config entry.

    Raises:
        ChecklistError: a missing or invalid id, title or kind, or an unknown key.
    """
    unknown = set(item) - {"id", "title", "kind", "filter", "question"}
    if unknown:
        raise ChecklistError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    ident = str(item.get("id", ""))
    if not _ID.fullmatch(ident):
        raise ChecklistError(f"{where}: id {ident!r} must be lower-case letters, digits, - or _")
    title = str(item.get("title", "")).strip()
    if not title:
        raise ChecklistError(f"{where} ({ident}): title is missing")
    kind = str(item.get("kind", "lines"))
    if kind not in KINDS:
        raise ChecklistError(f"{where} ({ident}): kind {kind!r} is not one of {', '.join(KINDS)}")
    return Step(
        ident, title[:100], kind, str(item.get("filter", ""))[:1000], str(item.get("question", ""))[:500]
    )


def parse_checklist(text: str, source: str = "checklist") -> list[Step]:
    """Parse checklist TOML (``[[step]]`` tables).

    Raises:
        ChecklistError: invalid TOML, no steps, a bad step or a duplicate id.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChecklistError(f"{source}: not valid TOML: {exc}") from None
    items = data.get("step")
    if not isinstance(items, list) or not items:
        raise ChecklistError(f"{source}: no [[step]] entries")
    steps = [step_from_mapping(item, f"{source} step #{i}") for i, item in enumerate(items, 1)]
    return merge_steps(steps, (), ())


def merge_steps(base: Sequence[Step], extra: Iterable[Step], skip: Iterable[str]) -> list[Step]:
    """``base`` with ``extra`` steps replacing those of the same id (else appended), minus ``skip``.

    Raises:
        ChecklistError: for a duplicate id within ``base``, or when no step is left.
    """
    steps: list[Step] = []
    seen: set[str] = set()
    for step in base:
        if step.id in seen:
            raise ChecklistError(f"step id {step.id!r} appears twice")
        seen.add(step.id)
        steps.append(step)
    for step in extra:
        for i, old in enumerate(steps):
            if old.id == step.id:
                steps[i] = step
                break
        else:
            steps.append(step)
    skipped = set(skip)
    steps = [s for s in steps if s.id not in skipped]
    if not steps:
        raise ChecklistError("the checklist has no steps left")
    return steps
