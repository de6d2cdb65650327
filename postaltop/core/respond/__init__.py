"""Guarded automatic response: policies that turn firing alerts into incident actions (pure)."""

from postaltop.core.respond.decide import Decision, Outcome, ResponseDecider
from postaltop.core.respond.policy import RESPONSE_ACTIONS, BusinessHours, ResponseMode, ResponsePolicy

__all__ = [
    "RESPONSE_ACTIONS",
    "BusinessHours",
    "Decision",
    "Outcome",
    "ResponseDecider",
    "ResponseMode",
    "ResponsePolicy",
]
