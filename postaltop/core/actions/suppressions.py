"""Suppression list: add recipients (or a recipient domain's addresses) to a server's list, or remove them.

Postal (facts §2 suppressions; ``SuppressionList#add/remove``): rows have ``type = 'recipient'``; adding an
address already listed updates its ``reason`` and ``keep_until``, otherwise inserts ``timestamp = now,
keep_until = now + 30 days`` (``default_suppression_list_automatic_removal_days``). Outgoing mail to an
active entry is Held when processed (unless manual). Removing deletes the rows.
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from postaltop.core.actions.plan import NO_WEBHOOKS, ActionPlan, Check, PlanError, Snapshot, Sql
from postaltop.core.actions.refs import ServerRef
from postaltop.core.sqltext import like_escape

KEEP_S = 30 * 86400
"""``postal.default_suppression_list_automatic_removal_days`` (30) in seconds."""
DEFAULT_REASON = "added by operator via postaltop"
_SUP = "{msg}.`suppressions`"
_MSG = "{msg}.`messages`"
MAX_ADDRESS = 255


def _addresses(addresses: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for raw in addresses:
        address = raw.strip()
        if not address:
            continue
        if "@" not in address or any(c.isspace() for c in address) or len(address) > MAX_ADDRESS:
            raise PlanError(f"not an e-mail address: {address!r}")
        seen[address] = None
    if not seen:
        raise PlanError("give at least one recipient address or a recipient domain")
    return tuple(seen)


def _domain(domain: str) -> str:
    value = domain.strip().lstrip("@")
    if not value or "@" in value or any(c.isspace() for c in value):
        raise PlanError(f"invalid recipient domain {domain!r}")
    return value


def _like(domain: str) -> str:
    return "%@" + like_escape(domain)


def _union(values: tuple[str, ...]) -> str:
    return " UNION ".join(["SELECT %s AS a"] * len(values))


def _recipients(
    server: ServerRef, addresses: list[str] | None, domain: str | None
) -> tuple[str, tuple[str, ...], dict[str, object]]:
    """The validated domain (``""`` when none was given) or addresses, and the plan's targets."""
    if domain:
        dom = _domain(domain)
        return dom, (), {"server_id": server.id, "server": server.name, "domain": dom}
    values = _addresses(addresses or [])
    return "", values, {"server_id": server.id, "server": server.name, "addresses": list(values)}


def _plan(
    server: ServerRef,
    targets: dict[str, object],
    selection: Sql,
    *,
    action: str,
    sentence: str,
    statements: tuple[Sql, ...],
    check: Check,
    notes: tuple[str, ...],
    destructive: bool = False,
) -> ActionPlan:
    """A plan on ``server``'s suppression entries for the selected addresses (confirmed with its name)."""
    return ActionPlan(
        action=action,
        sentence=sentence,
        server_id=server.id,
        server_name=server.name,
        confirm_text=server.name,
        targets=targets,
        selection=selection,
        selection_noun="addresses",
        statements=statements,
        snapshots=(Snapshot("msg.suppressions", _SUP, "type = 'recipient' AND address IN ({ids})"),),
        checks=(check,),
        destructive=destructive,
        notes=notes,
    )


def _listing(values: tuple[str, ...]) -> str:
    """The first five addresses, and how many more."""
    return ", ".join(values[:5]) + (f" and {len(values) - 5} more" if len(values) > 5 else "")


def add(
    server: ServerRef,
    *,
    addresses: list[str] | None = None,
    domain: str | None = None,
    reason: str = DEFAULT_REASON,
) -> ActionPlan:
    """Suppress the given addresses, or every address of ``domain`` the server has sent to."""
    reason = " ".join(reason.split())[:255] or DEFAULT_REASON
    dom, values, targets = _recipients(server, addresses, domain)
    if dom:
        selection = Sql(
            f"SELECT DISTINCT m.rcpt_to FROM {_MSG} m WHERE m.scope = 'outgoing' AND m.rcpt_to LIKE %s "
            "ORDER BY m.rcpt_to",
            (_like(dom),),
        )
        what = f"every address at {dom} that {server.name} has sent to"
    else:
        selection = Sql(f"SELECT a FROM ({_union(values)}) x ORDER BY a", values)
        what = _listing(values)
    return _plan(
        server,
        targets,
        selection,
        action="suppress-add",
        sentence=(
            f"Add {what} to the suppression list of {server.name} for 30 days (reason {reason!r}): outgoing "
            "mail to them is Held when processed."
        ),
        statements=(
            Sql(
                f"UPDATE {_SUP} SET reason = %s, keep_until = @pt_now + %s "
                "WHERE type = 'recipient' AND address IN ({ids})",
                (reason, KEEP_S),
            ),
            Sql(
                f"INSERT INTO {_SUP} (type, address, reason, timestamp, keep_until) "
                "SELECT 'recipient', x.a, %s, @pt_now, @pt_now + %s FROM (SELECT %s AS a) x "
                f"WHERE NOT EXISTS (SELECT 1 FROM {_SUP} s WHERE s.type = 'recipient' AND s.address = x.a)",
                (reason, KEEP_S),
                per_key=True,
            ),
        ),
        check=Check(
            Sql(
                f"SELECT COUNT(DISTINCT address) FROM {_SUP} WHERE type = 'recipient' "
                "AND address IN ({ids}) AND keep_until > UNIX_TIMESTAMP(NOW(6))"
            ),
            None,
            "addresses suppressed",
        ),
        notes=(
            NO_WEBHOOKS,
            "Messages already queued to these addresses are held when the worker next processes them.",
        ),
    )


def remove(server: ServerRef, *, addresses: list[str] | None = None, domain: str | None = None) -> ActionPlan:
    """Delete suppression entries for the given addresses or every address of ``domain``."""
    dom, values, targets = _recipients(server, addresses, domain)
    if dom:
        selection = Sql(
            f"SELECT DISTINCT address FROM {_SUP} WHERE type = 'recipient' AND address LIKE %s "
            "ORDER BY address",
            (_like(dom),),
        )
        what = f"every address at {dom}"
    else:
        selection = Sql(
            f"SELECT DISTINCT address FROM {_SUP} WHERE type = 'recipient' AND address IN "
            f"({', '.join(['%s'] * len(values))}) ORDER BY address",
            values,
        )
        what = _listing(values)
    return _plan(
        server,
        targets,
        selection,
        action="suppress-remove",
        sentence=f"Remove {what} from the suppression list of {server.name}: mail to them is sent again.",
        statements=(Sql(f"DELETE FROM {_SUP} WHERE type = 'recipient' AND address IN ({{ids}})"),),
        check=Check(
            Sql(f"SELECT COUNT(*) FROM {_SUP} WHERE type = 'recipient' AND address IN ({{ids}})"),
            0,
            "removed",
        ),
        destructive=True,
        notes=(NO_WEBHOOKS, "Messages held because of these entries stay Held: release them separately."),
    )
