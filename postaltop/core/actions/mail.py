"""Bulk actions on held or queued outgoing mail of one server (facts §3.1-3.3).

Selection: the server plus any of credential, sender (``mail_from``), recipient domain, hold reason (text in
the details of the message's latest delivery) and age. Each action leaves every message in a state Postal
itself produces:

* ``release-held`` = Postal's Release/Retry button: a new ``queued_messages`` row with ``manual = 1`` for each
  held message whose raw message still exists and that has no queue row; ``messages`` is not changed (the
  worker's next delivery changes it). Manual rows bypass credential, suppression and Development holds but not
  suspension or the send limit.
* ``cancel-hold`` = Postal's Cancel hold / hold expiry: a ``HoldCancelled`` delivery and
  ``status='HoldCancelled', held=0, hold_expiry=NULL``. The message is never sent.
* ``hold-queued`` = what the pipeline does when it holds: delete the queue row only if no worker has locked
  it,
  add a ``Held`` delivery, set ``status='Held', held=1, hold_expiry = now + 7 days``.

Not done (unlike Postal): the ``stats_*`` ``held`` counters are not incremented and no webhook is queued.
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from dataclasses import dataclass

from postaltop.core.actions.plan import NO_WEBHOOKS, ActionPlan, Check, PlanError, Snapshot, Sql
from postaltop.core.actions.refs import ServerRef
from postaltop.core.sqltext import like_escape

HOLD_EXPIRY_S = 7 * 86400
"""``postal.default_maximum_hold_expiry_days`` (7) in seconds."""
CANCEL_DETAILS = "The hold on this message has been removed without action."
HOLD_DETAILS = "Held by operator via postaltop."
_MSG = "{msg}.`messages`"
_DEL = "{msg}.`deliveries`"
_QUEUE = "{main}.`queued_messages`"


@dataclass(frozen=True, slots=True)
class MailFilter:
    """Which messages of a server a bulk action selects (all given criteria must match)."""

    credential_id: int | None = None
    sender: str | None = None
    """Exact envelope sender (``messages.mail_from``)."""
    recipient_domain: str | None = None
    hold_reason: str | None = None
    """Text contained in the details of the latest delivery (e.g. ``send limit``, ``Credential``)."""
    older_than_s: float | None = None
    newer_than_s: float | None = None

    def describe(self) -> str:
        """The criteria in words."""
        parts = []
        if self.credential_id is not None:
            parts.append(f"credential #{self.credential_id}")
        if self.sender:
            parts.append(f"sender {self.sender}")
        if self.recipient_domain:
            parts.append(f"recipient domain {self.recipient_domain}")
        if self.hold_reason:
            parts.append(f"hold reason containing {self.hold_reason!r}")
        if self.older_than_s is not None:
            parts.append(f"older than {self.older_than_s:g} s")
        if self.newer_than_s is not None:
            parts.append(f"newer than {self.newer_than_s:g} s")
        return ", ".join(parts) or "all"

    def as_dict(self) -> dict[str, object]:
        """The criteria that are set."""
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


def _conditions(f: MailFilter, alias: str = "m") -> tuple[str, tuple[object, ...]]:
    sql: list[str] = [f"{alias}.scope = 'outgoing'"]
    params: list[object] = []
    if f.credential_id is not None:
        sql.append(f"{alias}.credential_id = %s")
        params.append(f.credential_id)
    if f.sender:
        sql.append(f"{alias}.mail_from = %s")
        params.append(f.sender.strip())
    if f.recipient_domain:
        domain = f.recipient_domain.strip().lstrip("@")
        if not domain or "@" in domain:
            raise PlanError(f"invalid recipient domain {f.recipient_domain!r}")
        sql.append(f"{alias}.rcpt_to LIKE %s")
        params.append("%@" + like_escape(domain))
    if f.hold_reason:
        sql.append(
            f"(SELECT d.details FROM {_DEL} d WHERE d.message_id = {alias}.id "
            "ORDER BY d.id DESC LIMIT 1) LIKE %s"
        )
        params.append("%" + like_escape(f.hold_reason.strip()) + "%")
    if f.older_than_s is not None:
        sql.append(f"{alias}.timestamp < UNIX_TIMESTAMP(NOW(6)) - %s")
        params.append(float(f.older_than_s))
    if f.newer_than_s is not None:
        sql.append(f"{alias}.timestamp >= UNIX_TIMESTAMP(NOW(6)) - %s")
        params.append(float(f.newer_than_s))
    return " AND ".join(sql), tuple(params)


def _msg_snapshots() -> tuple[Snapshot, ...]:
    return (
        Snapshot("msg.messages", _MSG, "id IN ({ids})"),
        Snapshot("msg.deliveries", _DEL, "message_id IN ({ids})"),
    )


def _queue_snapshot(server: ServerRef) -> Snapshot:
    return Snapshot("main.queued_messages", _QUEUE, "server_id = %s AND message_id IN ({ids})", (server.id,))


def _delivery_insert(status: str, details: str, condition: str = "") -> Sql:
    """Add a delivery with ``status`` and ``details`` to each selected message (``condition`` narrows it)."""
    return Sql(
        f"INSERT INTO {_DEL} (message_id, status, details, output, sent_with_ssl, log_id, time, timestamp) "
        f"SELECT m.id, '{status}', %s, NULL, 0, NULL, NULL, @pt_now FROM {_MSG} m "
        "WHERE m.id IN ({ids})" + condition,
        (details,),
        expect="selected",
    )


def _targets(server: ServerRef, f: MailFilter) -> dict[str, object]:
    return {"server_id": server.id, "server": server.name, **f.as_dict()}


def release_held(server: ServerRef, f: MailFilter, *, ip_pools: bool = False) -> ActionPlan:
    """Requeue held messages as Postal's Release does (manual queue rows)."""
    if ip_pools:
        from postaltop.core.actions.plan import RefusedAction

        raise RefusedAction(
            "Releasing through SQL is not faithful when Postal uses IP pools (Postal picks the outgoing IP "
            "when it creates the queue row).",
            "release the messages in Postal's web UI (Messages > Held > Release), or in `postal console`: "
            f"Server.find({server.id}).message_db.messages(where: {{held: 1}}).each(&:add_to_message_queue)",
        )
    where, params = _conditions(f)
    selection = Sql(
        f"SELECT m.id FROM {_MSG} m WHERE m.held = 1 AND m.status = 'Held' AND m.raw_table IS NOT NULL "
        f"AND {where} AND NOT EXISTS (SELECT 1 FROM {_QUEUE} q "
        "WHERE q.message_id = m.id AND q.server_id = %s) "
        "ORDER BY m.id",
        (*params, server.id),
    )
    domain = "SUBSTRING_INDEX(m.rcpt_to, '@', -1)"
    insert = Sql(
        f"INSERT INTO {_QUEUE} (server_id, message_id, domain, batch_key, route_id, manual, attempts, "
        f"created_at, updated_at, ip_address_id) SELECT %s, m.id, {domain}, CONCAT('outgoing-', {domain}), "
        f"m.route_id, 1, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), NULL FROM {_MSG} m WHERE m.id IN ({{ids}})",
        (server.id,),
        expect="selected",
    )
    return ActionPlan(
        action="release-held",
        sentence=(
            f"Release held outgoing messages of {server.name} ({f.describe()}): requeue each with a manual "
            "queue row, as Postal's Release button does. Credential, suppression and Development holds are "
            "bypassed; suspension and the send limit still hold them."
        ),
        server_id=server.id,
        server_name=server.name,
        confirm_text=server.name,
        targets=_targets(server, f),
        selection=selection,
        selection_noun="held messages",
        statements=(insert,),
        snapshots=(_queue_snapshot(server), *_msg_snapshots()),
        checks=(
            Check(
                Sql(
                    f"SELECT COUNT(*) FROM {_QUEUE} WHERE server_id = %s AND manual = 1 "
                    "AND message_id IN ({ids})",
                    (server.id,),
                ),
                None,
                "one manual queue row per released message",
            ),
        ),
        notes=(NO_WEBHOOKS, "Messages whose raw message was purged cannot be released and are not selected."),
    )


def cancel_hold(server: ServerRef, f: MailFilter) -> ActionPlan:
    """Cancel holds as Postal's Cancel hold / hold expiry does: ``HoldCancelled``, never sent."""
    where, params = _conditions(f)
    return ActionPlan(
        action="cancel-hold",
        sentence=(
            f"Cancel the hold of held outgoing messages of {server.name} ({f.describe()}): each gets a "
            "HoldCancelled delivery and will never be sent (what Postal's hold expiry does)."
        ),
        server_id=server.id,
        server_name=server.name,
        confirm_text=server.name,
        targets=_targets(server, f),
        selection=Sql(
            f"SELECT m.id FROM {_MSG} m WHERE m.held = 1 AND m.status = 'Held' AND {where} ORDER BY m.id",
            params,
        ),
        selection_noun="held messages",
        statements=(
            _delivery_insert("HoldCancelled", CANCEL_DETAILS, " AND m.status = 'Held'"),
            Sql(
                f"UPDATE {_MSG} SET status = 'HoldCancelled', held = 0, hold_expiry = NULL, "
                "last_delivery_attempt = @pt_now WHERE id IN ({ids}) AND status = 'Held'",
                expect="selected",
            ),
        ),
        snapshots=_msg_snapshots(),
        checks=(
            Check(
                Sql(
                    f"SELECT COUNT(*) FROM {_MSG} WHERE id IN ({{ids}}) "
                    "AND status = 'HoldCancelled' AND held = 0"
                ),
                None,
                "messages HoldCancelled",
            ),
        ),
        destructive=True,
        notes=(NO_WEBHOOKS,),
    )


def hold_queued(server: ServerRef, f: MailFilter) -> ActionPlan:
    """Hold queued outgoing messages that no worker has locked, as Postal's pipeline holds them."""
    where, params = _conditions(f)
    return ActionPlan(
        action="hold-queued",
        sentence=(
            f"Hold queued outgoing messages of {server.name} ({f.describe()}) that no worker has locked: "
            "remove their queue rows and record a Held delivery, as Postal's worker does when it holds. "
            "They can be released or cancelled later; the hold expires after 7 days."
        ),
        server_id=server.id,
        server_name=server.name,
        confirm_text=server.name,
        targets=_targets(server, f),
        selection=Sql(
            f"SELECT q.message_id FROM {_QUEUE} q JOIN {_MSG} m ON m.id = q.message_id "
            "WHERE q.server_id = %s "
            f"AND q.locked_at IS NULL AND q.locked_by IS NULL AND {where} ORDER BY q.message_id",
            (server.id, *params),
        ),
        selection_noun="queued messages",
        statements=(
            Sql(
                f"DELETE FROM {_QUEUE} WHERE server_id = %s AND message_id IN ({{ids}}) "
                "AND locked_at IS NULL AND locked_by IS NULL",
                (server.id,),
                expect="selected",
            ),
            _delivery_insert("Held", HOLD_DETAILS),
            Sql(
                f"UPDATE {_MSG} SET status = 'Held', held = 1, hold_expiry = @pt_now + %s, "
                "last_delivery_attempt = @pt_now WHERE id IN ({ids})",
                (HOLD_EXPIRY_S,),
                expect="selected",
            ),
        ),
        snapshots=(_queue_snapshot(server), *_msg_snapshots()),
        checks=(
            Check(
                Sql(f"SELECT COUNT(*) FROM {_MSG} WHERE id IN ({{ids}}) AND status = 'Held' AND held = 1"),
                None,
                "messages Held",
            ),
            Check(
                Sql(
                    f"SELECT COUNT(*) FROM {_QUEUE} WHERE server_id = %s AND message_id IN ({{ids}})",
                    (server.id,),
                ),
                0,
                "no queue rows left",
            ),
        ),
        notes=(
            NO_WEBHOOKS,
            "Rows a worker has locked are in flight and are not selected.",
            "Postal's stats_* held counters are not incremented.",
        ),
    )
