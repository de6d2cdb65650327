"""The recipient country mix table: per server and per credential, window against baseline, in every report
format and in the review's sending step; a shifted mix and a new country are problems."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from postaltop.core.review.countries import country_mix_parts, mix_from_tallies
from postaltop.core.review.demo import DemoData, simulate_window
from postaltop.core.review.evidence import all_evidence
from postaltop.core.review.inputs import ReviewInput
from postaltop.core.review.report import ReportData, render_html, render_markdown
from postaltop.store.reviews import load_checklist
from tests.review.conftest import WINDOW

SERVERS = {1: "acme/app", 2: "globex/web"}
CREDS = {7: "main smtp", 8: "api"}


def tally(**per_key: int) -> dict[tuple[int, int | None, str], int]:
    """``c7_example_de=40`` -> {(server of 7, 7, 'example.de'): 40}."""
    out: dict[tuple[int, int | None, str], int] = {}
    for key, count in per_key.items():
        cred, _, domain = key.partition("_")
        cred_id = int(cred[1:])
        out[(1 if cred_id == 7 else 2, cred_id, domain.replace("_", "."))] = count
    return out


def test_a_shifted_credential_and_a_new_country_are_flagged_and_listed_first() -> None:
    window = tally(c7_mail_ru=700, c7_example_de=100, c7_gmail_com=200, c8_gmail_com=900, c8_web_de=100)
    baseline = tally(c7_example_de=1000, c7_gmail_com=3000, c8_gmail_com=9000, c8_web_de=1000)
    parts = country_mix_parts(mix_from_tallies(window, baseline, SERVERS, CREDS, "last week"))
    by_server, by_credential = parts.tables
    assert by_credential.title == "Recipient countries by credential (window vs last week)"
    assert by_credential.rows[0][0] == "credential acme/app · main smtp", "the largest shift first"
    ru = next(r for r in by_credential.rows if r[1] == ".ru")
    assert ru[2:] == ("700", "70%", "0%", "+70 pt")
    generic = by_credential.rows[0]
    assert generic[1:] == ("generic", "200", "20%", "75%", "-55 pt")
    steady = [r for r in by_credential.rows if r[0] == "credential globex/web · api"]
    assert steady and steady[0][-1] == "+0 pt"
    texts = [p.text for p in parts.problems]
    assert any("main smtp: recipient countries shifted (distance 0.70)" in t for t in texts)
    assert any("main smtp sent 700 messages (70%) to .ru, a country absent" in t for t in texts)
    assert not any("api" in t for t in texts), "an unchanged mix is not a problem"
    assert by_server.rows[0][0] == "server acme/app"
    assert "2 scope(s) flagged" in parts.summary[0]  # the credential and its server


def test_more_countries_than_shown_fold_into_other() -> None:
    domains = {f"c7_shop_{cc}": 10 * (i + 1) for i, cc in enumerate(["de", "fr", "it", "es", "nl", "pl"])}
    parts = country_mix_parts(mix_from_tallies(tally(**domains), tally(**domains), SERVERS, CREDS, "before"))
    rows = [r for r in parts.tables[1].rows]
    assert [r[1] for r in rows] == [".pl", ".nl", ".es", ".it", "other"]
    assert rows[-1][2] == "30" and rows[-1][-1] == "+0 pt"  # .fr 20 + .de 10
    assert parts.problems == []


@pytest.fixture(scope="module")
def incident() -> DemoData:
    return simulate_window(WINDOW, scenario="compromised-credential", seed=1)


def test_the_report_shows_the_leaked_credentials_new_country_in_markdown_and_html(incident: DemoData) -> None:
    assert incident.recipients is not None
    steps = load_checklist()
    data = ReviewInput(WINDOW, incident.store, incident.facts, figures=incident.figures,
                       recipients=incident.recipients)  # fmt: skip
    evidence = all_evidence(data, steps)
    [sending] = [e for e in evidence if e.step_id == "unusual-sending"]
    [table] = [t for t in sending.tables if t.title.startswith("Recipient countries by credential")]
    assert table.rows[0][0] == "credential acme/transactional · main smtp"
    ru = next(r for r in table.rows[:5] if r[1] == ".ru")
    assert ru[4] == "0%" and int(ru[2].replace(",", "")) > 100
    assert any(".ru, a country absent from its baseline" in p.text for p in sending.problems)
    report = ReportData(WINDOW, steps, evidence, reviewer="alice")
    md = render_markdown(report)
    assert re.search(r"^\| credential acme/transactional · main smtp \| [^|]+ \|", md, re.M)
    assert re.search(r"^\|  \| \.ru \| [\d,]+ \| \d+% \| 0% \| \+\d+ pt \|$", md, re.M)
    page = render_html(report)
    assert "Recipient countries by credential" in page
    cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", page)]
    at = cells.index("credential acme/transactional · main smtp")
    assert ".ru" in cells[at : at + 6 * 5]


async def test_the_review_screen_shows_the_table_in_the_unusual_sending_step(
    incident: DemoData, tmp_path: Path
) -> None:
    from textual.widgets import Static

    from postaltop.store.reviews import ReviewSession, ReviewStore
    from postaltop.ui.screens.review import ReviewApp

    steps = load_checklist()
    data = ReviewInput(WINDOW, incident.store, incident.facts, figures=incident.figures,
                       recipients=incident.recipients)  # fmt: skip
    store = ReviewStore(tmp_path / "reviews.sqlite3")
    review_id = store.create("alice", WINDOW, incident.hosts, "demo", [s.id for s in steps])
    session = ReviewSession(store, review_id, steps, all_evidence(data, steps), tmp_path / "reports")
    app = ReviewApp(session)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("n")  # step 2: Unusual sending
        await pilot.pause()
        evidence = str(app.screen.query_one("#review-evidence", Static).render())
        assert "Recipient countries by credential" in evidence
        assert "credential acme/transactional · main smtp" in evidence and ".ru" in evidence
