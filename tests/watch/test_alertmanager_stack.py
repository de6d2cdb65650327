"""postaltop watch with a real Alertmanager: grouping by incident, resolves, amtool silences, restarts.

Alertmanager (the Debian ``prometheus-alertmanager`` package) notifies a local webhook receiver; postaltop's
paging channel is PagerDuty pointed at the same receiver. Skipped with the reason when the package is missing,
failed under ``POSTALTOP_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.promstack import binary, running_alertmanager
from tests.watch.receiver import Receiver
from tests.watch.watch_proc import running_watch

pytestmark = pytest.mark.slow

SILENCED_KEY = "zscore|global"
"""An incident the compromised-credential demo raises within seconds (seed 1)."""


def _am_config(receiver: Receiver) -> str:
    return (
        "route:\n"
        "  receiver: hook\n"
        "  group_by: ['incident']\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: hook\n"
        "    webhook_configs:\n"
        f"      - url: '{receiver.url}/am'\n"
        "        send_resolved: true\n"
    )


def _triggers(pd: list[dict[str, Any]]) -> list[str]:
    return [b["dedup_key"] for b in pd if b["event_action"] == "trigger"]


def test_alertmanager_groups_resolves_and_silences_hold_across_a_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    amtool = binary("amtool")
    with running_alertmanager(tmp_path / "am", _am_config(receiver)) as am:
        added = subprocess.run(
            [amtool, f"--alertmanager.url={am.url}", "silence", "add", f'incident="{SILENCED_KEY}"',
             "--author=oncall", "--comment=known noisy during the test", "--duration=1h"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        silence_id = added.stdout.strip()
        assert silence_id

        key_file = tmp_path / "pd.key"
        key_file.write_text("PD-KEY\n")
        key_file.chmod(0o600)
        config = tmp_path / "postaltop.toml"
        config.write_text(
            f'[notify]\nretry_base = 0.2\nretry_cap = 1.0\nstate_file = "{tmp_path / "incidents.db"}"\n'
            f'dead_letter_file = "{tmp_path / "dead.jsonl"}"\n'
            f'[notify.alertmanager]\nurl = "{am.url}"\nrefresh_interval = 15\n'
            f'[notify.pagerduty]\nrouting_key_file = "{key_file}"\nurl = "{receiver.url}/pd"\n'
        )
        args = ["--config", str(config), "--demo", "--scenario", "compromised-credential", "--speed", "high"]

        # -- first run: pages, Alertmanager groups per incident and resolves, the silence holds ------------
        with running_watch(tmp_path / "first.log", *args) as first:
            held: list[dict[str, Any]] = []  # Alertmanager's copy of the silenced alert, while open

            def settled() -> bool:
                if not held:
                    held.extend(am.get_json("/api/v2/alerts", filter=f'incident="{SILENCED_KEY}"'))
                am_bodies = receiver.bodies("/am")
                resolved = {b["groupLabels"].get("incident") for b in am_bodies if b["status"] == "resolved"}
                silenced = [e for e in first.events("silenced") if e["key"] == SILENCED_KEY]
                pages = len(set(_triggers(receiver.bodies("/pd"))))
                return bool(resolved) and bool(silenced) and bool(held) and pages >= 3

            first.wait_for("pages, an Alertmanager resolve and a silenced page", settled)
        assert first.exit_code == 0
        pd_first = receiver.bodies("/pd")
        am_first = receiver.bodies("/am")

        # Alertmanager: one group per incident key, holding only that incident's alert
        assert am_first
        for body in am_first:
            assert set(body["groupLabels"]) == {"incident"}, body["groupLabels"]
            key = body["groupLabels"]["incident"]
            assert {a["labels"]["incident"] for a in body["alerts"]} == {key}
            assert all(a["labels"]["source"] == "postaltop" for a in body["alerts"])
        # a resolve went through Alertmanager for an incident postaltop resolved
        am_resolved = {b["groupLabels"]["incident"] for b in am_first if b["status"] == "resolved"}
        resolve_logged = {e["key"] for e in first.events("notification") if e["status"] == "resolved"}
        assert am_resolved & resolve_logged

        # the silence set with amtool: Alertmanager did not notify it, and neither did postaltop's pager
        assert SILENCED_KEY not in {b["groupLabels"]["incident"] for b in am_first}
        assert SILENCED_KEY not in {b["dedup_key"] for b in pd_first}
        silenced = [e for e in first.events("silenced") if e["key"] == SILENCED_KEY]
        assert silenced[0]["channel"] == "pagerduty" and silenced[0]["silence"] == silence_id
        assert silenced[0]["by"] == "oncall"
        # ... while Alertmanager held the alert (read during the run: the incident may have resolved since),
        # marked silenced by that silence
        assert held[0]["status"]["silencedBy"] == [silence_id], held

        # -- restart: incidents open at the stop are not paged again ---------------------------------------
        open_at_stop: dict[str, int] = {}
        for body in pd_first:
            key = body["dedup_key"]
            open_at_stop[key] = open_at_stop.get(key, 0) + (1 if body["event_action"] == "trigger" else -99)
        still_open = {k for k, n in open_at_stop.items() if n > 0}
        assert still_open, pd_first
        with running_watch(tmp_path / "second.log", *args) as second:
            restored = second.events("incidents_restored")
            assert restored and restored[0]["count"] >= len(still_open)

            def confirmed() -> set[str]:
                return {e["key"] for e in second.events("incident_confirmed")} & still_open

            second.wait_for("the detectors to confirm a restored incident", lambda: len(confirmed()) >= 1)
            # let the second run go on for a while: the detectors re-evaluate every second at this speed
            second.wait_for(
                "more confirmations", lambda: len(second.events("incident_confirmed")) >= 3, timeout=30
            )
            keys_confirmed = confirmed()
        assert second.exit_code == 0
        pd_second = receiver.bodies("/pd")[len(pd_first) :]
        # a confirmed incident is not paged again unless it resolved meanwhile or its severity rose
        rank = {"info": 0, "warning": 1, "critical": 2}
        for key in keys_confirmed:
            actions = [b for b in pd_second if b["dedup_key"] == key]
            if actions and actions[0]["event_action"] == "trigger":
                paged = [
                    b["payload"]["severity"] for b in pd_first if b["dedup_key"] == key and "payload" in b
                ]
                again = actions[0]["payload"]["severity"]
                assert rank[again] > rank[paged[-1]], (key, "paged again after the restart", paged[-1], again)
        assert SILENCED_KEY not in {b["dedup_key"] for b in pd_second}
        assert not (tmp_path / "dead.jsonl").exists()
