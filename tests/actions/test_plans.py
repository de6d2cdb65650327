"""Pure plan tests: catalogue, refusals, context guessing, previews never showing secrets."""

from __future__ import annotations

import pytest

from postaltop.core.actions import (
    REDACTED,
    ActionArgs,
    MailFilter,
    PlanError,
    RefusedAction,
    ServerRef,
    build,
)
from postaltop.core.actions.context import context_from_alert, context_from_text
from postaltop.core.actions.describe import needs_typed_confirmation, preview_lines
from postaltop.core.actions.plan import Preview
from postaltop.core.actions.restore import undo_plan

SERVER = ServerRef(1, "acme/main")


def test_refused_actions_name_the_postal_command() -> None:
    with pytest.raises(RefusedAction) as info:
        build("remove-from-queue", ActionArgs(server=SERVER))
    assert "Pending forever" in str(info.value) and "postal console" in info.value.postal_command
    with pytest.raises(RefusedAction, match="IP pools"):
        build("release-held", ActionArgs(server=SERVER, ip_pools=True))
    with pytest.raises(PlanError, match="unknown action"):
        build("nuke", ActionArgs(server=SERVER))


def test_filters_are_parameters_not_sql() -> None:
    hostile = "x' OR 1=1 -- %_"
    plan = build(
        "cancel-hold", ActionArgs(server=SERVER, filter=MailFilter(sender=hostile, hold_reason=hostile))
    )
    assert plan.selection is not None
    assert hostile not in plan.selection.text
    assert hostile in plan.selection.params
    assert "%x' OR 1=1 -- \\%\\_%" in plan.selection.params  # LIKE wildcards escaped


def test_typed_confirmation_for_destructive_and_protected() -> None:
    hold = build("server-mode", ActionArgs(server=SERVER, mode="Development"))
    assert not needs_typed_confirmation(hold, [])
    assert needs_typed_confirmation(hold, ["acme/main"])
    assert needs_typed_confirmation(build("server-suspend", ActionArgs(server=SERVER, reason="x")), [])


def test_undo_preview_redacts_the_key() -> None:
    row = {"id": 5, "server_id": 1, "key": "s3cretKEYs3cretKEYs3cret", "name": "smtp"}
    undo = undo_plan(
        {"action": "credential-revoke", "server": "acme/main", "server_id": 1},
        9,
        {"main.credentials": [row]},
        {},
    )
    text = "\n".join(preview_lines(undo, Preview((), {"main.credentials": []})))
    assert "s3cretKEY" not in text and REDACTED in text
    assert undo.statements[0].params[2] == row["key"]  # the executor still gets the real value


def test_context_from_lines_and_alerts() -> None:
    assert (
        context_from_text("DEBUG  => 235 Granted for acme/transactional trace_id=X").server
        == "acme/transactional"
    )
    assert context_from_text("INFO   Sending message 3::1204577 to a@b").server == "3"
    ctx = context_from_alert("credential", "12", "hold_credential")
    assert (ctx.server, ctx.credential, ctx.suggested) == ("", "12", "credential-hold")
    assert context_from_alert("server", "acme/app", "suspend_server").suggested == "server-suspend"
