"""Incident actions as the UI sees them (:class:`~postaltop.runtime.interfaces.ActionService`).

One class over either executor: :class:`~postaltop.sources.action_executor.DbActionExecutor` (the configured
database, writes only when enabled) or :class:`~postaltop.sources.demo_actions.DemoActionExecutor` (the
simulation). Planning resolves the typed targets with the executor, as ``postaltop act`` does.
"""

from __future__ import annotations

from typing import Any

from postaltop.config import ActionsConfig, Settings
from postaltop.core.actions.plan import ActionPlan, Preview
from postaltop.runtime.interfaces import AuditEntry
from postaltop.sources.action_executor import ENABLE_HINT, DbActionExecutor, plan_action
from postaltop.sources.demo_actions import DemoActionExecutor
from postaltop.store.audit import AuditStore

Executor = DbActionExecutor | DemoActionExecutor


class Actions:
    """An executor and the ``[actions]`` settings it was built with."""

    def __init__(self, executor: Executor, config: ActionsConfig) -> None:
        self.executor = executor
        self.config = config

    @property
    def demo(self) -> bool:
        """True when the actions apply to the simulation."""
        return isinstance(self.executor, DemoActionExecutor)

    @property
    def enabled(self) -> bool:
        """True when writes are allowed."""
        return self.executor.enabled

    @property
    def enable_hint(self) -> str:
        """What to change to allow writes."""
        return ENABLE_HINT

    @property
    def protected_servers(self) -> list[str]:
        """Servers whose actions need the typed confirmation."""
        return list(self.config.protected_servers or [])

    async def plan(self, name: str, server: str, credential: str = "", *, value: str = "") -> ActionPlan:
        """Resolve the typed targets and plan ``name``."""
        return await plan_action(self.executor, name, server, credential, value=value, actions=self.config)

    async def preview(self, plan: ActionPlan) -> Preview:
        """What ``plan`` would change."""
        return await self.executor.preview(plan)

    async def execute(self, plan: ActionPlan, preview: Preview) -> Any:
        """Run ``plan``, audited."""
        return await self.executor.execute(plan, preview)

    def plan_undo(self, audit_id: int) -> ActionPlan:
        """The plan that undoes audit entry ``audit_id``."""
        return self.executor.plan_undo(audit_id)

    def last_undo_plan(self) -> ActionPlan:
        """The plan that undoes the newest undoable action."""
        return self.executor.last_undo_plan()

    def reconfigure(self, config: ActionsConfig) -> None:
        """Apply new ``[actions]`` settings (``enabled``, protected servers) from now on."""
        self.config = config
        self.executor.actions = config
        self.executor.enabled = config.enabled or self.demo

    def audit_trail(self) -> list[AuditEntry]:
        """This kind's (demo or real) audited actions, oldest first."""
        return list(self.executor.store.list(demo=self.demo))


def database_actions(settings: Settings, *, allow: bool = False) -> Actions | None:
    """Actions on the configured database (None without a ``[database]``).

    Writes need ``[actions] enabled = true``, or ``allow`` (``postaltop act --allow-actions``).
    """
    if settings.database is None:
        return None
    from postaltop.sources.db_connect import connector_for

    config = settings.actions
    store = AuditStore(operator=config.operator)
    executor = DbActionExecutor(
        settings.database, config, store, allow=allow, connector=connector_for(settings)
    )
    return Actions(executor, config)


def demo_actions(fleet: Any, config: ActionsConfig) -> Actions:
    """Actions on the simulated fleet (always allowed: there is no real database)."""
    return Actions(
        DemoActionExecutor(fleet, config, AuditStore(operator=config.operator), allow=True), config
    )
