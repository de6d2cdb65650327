"""Credential actions: hold / release the hold (``credentials.hold``) and revoke (delete the row).

Postal (facts §3.4): the worker reads ``credentials.hold`` fresh for every outgoing message it processes and
holds the message when it is set (unless the queue row is ``manual``). Saving the credential form bumps
``updated_at``. Revoking = deleting the row (Postal's UI does the same): AUTH then fails with
``535 Invalid credential``; ``messages.credential_id`` keeps pointing at the old id. The undo of a revoke
re-inserts the row exactly, key included (the key is kept only in the 0600 SQLite audit store).
"""

# ruff: noqa: S608  # identifiers: {main}/{msg}/{ids} placeholders or validated names; values: params

from __future__ import annotations

from postaltop.core.actions.plan import NO_WEBHOOKS, ActionPlan, Check, Snapshot, Sql
from postaltop.core.actions.refs import CredentialRef

_TABLE = "{main}.`credentials`"


def _snapshot(cred: CredentialRef) -> Snapshot:
    return Snapshot("main.credentials", _TABLE, "id = %s AND server_id = %s", (cred.id, cred.server.id))


def _label(cred: CredentialRef) -> str:
    return f"credential #{cred.id} {cred.name!r} ({cred.type}) of {cred.server.name}"


def hold(cred: CredentialRef) -> ActionPlan:
    """Set ``credentials.hold = 1``: every outgoing message submitted with it is Held when next processed."""
    return _set_hold(cred, True)


def release_hold(cred: CredentialRef) -> ActionPlan:
    """Set ``credentials.hold = 0`` (messages already held stay held: release them separately)."""
    return _set_hold(cred, False)


def _set_hold(cred: CredentialRef, on: bool) -> ActionPlan:
    value = 1 if on else 0
    if on:
        sentence = (
            f"Hold {_label(cred)}: the worker will hold every outgoing message authenticated with it "
            "(queued ones on their next attempt). Submission still succeeds."
        )
    else:
        sentence = f"Release the hold of {_label(cred)}: its new messages are sent again."
    return ActionPlan(
        action="credential-hold" if on else "credential-release",
        sentence=sentence,
        server_id=cred.server.id,
        server_name=cred.server.name,
        confirm_text=cred.name,
        targets={"server_id": cred.server.id, "credential_id": cred.id, "credential": cred.name},
        selection=Sql(
            f"SELECT id FROM {_TABLE} WHERE id = %s AND server_id = %s AND hold <> %s",
            (cred.id, cred.server.id, value),
        ),
        selection_noun="credential",
        statements=(
            Sql(
                f"UPDATE {_TABLE} SET hold = %s, updated_at = UTC_TIMESTAMP(6) "
                "WHERE id = %s AND server_id = %s AND hold <> %s",
                (value, cred.id, cred.server.id, value),
                expect="selected",
            ),
        ),
        snapshots=(_snapshot(cred),),
        checks=(
            Check(
                Sql(f"SELECT COUNT(*) FROM {_TABLE} WHERE id = %s AND hold = %s", (cred.id, value)),
                1,
                "credentials.hold",
            ),
        ),
        notes=(
            NO_WEBHOOKS,
            "Messages already Held stay Held; a manual (released) queue row is not held by the credential.",
        )
        if on
        else (NO_WEBHOOKS, "Messages held meanwhile stay Held: use release-held to requeue them."),
    )


def revoke(cred: CredentialRef) -> ActionPlan:
    """Delete the credential row: SMTP AUTH / API calls with its key fail from now on."""
    return ActionPlan(
        action="credential-revoke",
        sentence=(
            f"Revoke (delete) {_label(cred)}: SMTP AUTH and API calls with its key are refused "
            "('535 Invalid credential'). Messages already queued are still processed."
        ),
        server_id=cred.server.id,
        server_name=cred.server.name,
        confirm_text=cred.name,
        targets={"server_id": cred.server.id, "credential_id": cred.id, "credential": cred.name},
        selection=Sql(f"SELECT id FROM {_TABLE} WHERE id = %s AND server_id = %s", (cred.id, cred.server.id)),
        selection_noun="credential",
        statements=(
            Sql(
                f"DELETE FROM {_TABLE} WHERE id = %s AND server_id = %s",
                (cred.id, cred.server.id),
                "selected",
            ),
        ),
        snapshots=(_snapshot(cred),),
        checks=(
            Check(Sql(f"SELECT COUNT(*) FROM {_TABLE} WHERE id = %s", (cred.id,)), 0, "credential gone"),
        ),
        destructive=True,
        undo_note="Undo re-inserts the credential row exactly (same id and key; the key is kept only in "
        "the 0600 audit DB).",
        notes=(NO_WEBHOOKS, "Postal's UI deletes credentials the same way; there is no 'disable' flag."),
    )
