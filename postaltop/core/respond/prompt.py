"""Responses waiting for an operator (the TUI asks before anything runs), and how each was answered (pure).

In the TUI a policy's decision to act (or, in ``notify`` mode, what it would do) becomes a
:class:`PendingResponse`: shown until the operator confirms it (the action's preview and confirmation),
declines it, or it lapses (its alert resolved, the kill switch was thrown). Every answer is kept as an
:class:`Answer`, so the alert's detail says what became of each response.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from postaltop.core.respond.decide import Decision, Outcome


class Verdict(StrEnum):
    """How a pending response ended."""

    CONFIRMED = "confirmed"
    """The operator ran it (the result and its audit id are in the answer)."""
    DECLINED = "declined"
    """The operator said no: not asked again about that scope until the policy's cooldown passes."""
    LAPSED = "lapsed"
    """Its alert stopped firing, or the kill switch was thrown, before anyone answered."""
    REFUSED = "refused"
    """It could not be planned (the target is gone, actions are unavailable)."""
    HELD_BACK = "held-back"
    """A guard stopped the policy (kill switch, protected server, rate limit…): nobody was asked."""


@dataclass(frozen=True, slots=True)
class PendingResponse:
    """One policy decision waiting for the operator."""

    id: int
    decision: Decision

    @property
    def alert_key(self) -> str:
        """The alert that caused it."""
        return self.decision.alert.key

    @property
    def mode_note(self) -> str:
        """Why a person is asked: ``act`` policies still ask in the TUI; ``notify`` ones only propose."""
        if self.decision.outcome is Outcome.ACT:
            return "policy is in act mode, and the TUI still asks before running it"
        return "policy is in notify mode: proposed, run only if you confirm it"

    @property
    def text(self) -> str:
        """``policy 'hold' proposes credential-hold on credential main smtp on acme/app (#3) (…)``."""
        decision = self.decision
        target = decision.target
        if decision.server and decision.server not in target:
            target += f" on {decision.server}"
        return (
            f"policy {decision.policy.name!r} proposes {decision.policy.action} on {target} "
            f"({decision.alert.kind} alert on {decision.alert.metric})"
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What became of one decision."""

    decision: Decision
    verdict: Verdict
    at: float
    """Wall-clock time of the answer."""
    detail: str = ""
    audit_id: int | None = None

    @property
    def text(self) -> str:
        """``13:02:11 UTC declined: policy 'hold' credential-hold on credential main smtp (#3)``."""
        stamp = time.strftime("%H:%M:%S UTC", time.gmtime(self.at))
        decision = self.decision
        line = f"{stamp} {self.verdict.value}: policy {decision.policy.name!r} {decision.policy.action} "
        line += f"on {decision.target}"
        if self.detail:
            line += f" — {self.detail}"
        if self.audit_id is not None:
            line += f" (audit #{self.audit_id}, undo: u or postaltop act undo {self.audit_id})"
        return line
