"""The review report in Markdown or HTML: problems first, then findings, the comparison, each step.

Log content is untrusted: every cell and line goes through :func:`~postaltop.core.sanitize.display_text`
(control and bidi characters shown as symbols) and is then escaped for the output format — Markdown
table pipes and HTML-significant characters; log lines are indented code blocks in Markdown (no fence
to break out of) and ``<pre>`` with escaped text in HTML.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from postaltop.core.review.charts import render_chart
from postaltop.core.review.checklist import Step
from postaltop.core.review.model import Evidence, Finding, Problem, severity_rank
from postaltop.core.review.window import Window, fmt_time
from postaltop.core.sanitize import display_text

REPORT_LINES = 12
"""Log lines per step in the report."""


@dataclass(frozen=True, slots=True)
class PreviousReview:
    """What the report compares with: the last finished review before this one."""

    id: int
    window: Window
    metrics: Mapping[str, Mapping[str, float]]
    """``step id -> figure -> value``."""
    findings: Sequence[Finding] = ()


@dataclass(slots=True)
class ReportData:
    """Everything a report shows."""

    window: Window
    steps: Sequence[Step]
    evidence: Sequence[Evidence]
    findings: Mapping[str, Finding] = field(default_factory=dict)
    reviewer: str = ""
    hosts: Sequence[str] = ()
    generated_at: float = 0.0
    review_id: int | None = None
    source: str = ""
    """``demo (brute-force, seed 1)``, ``live``."""
    previous: PreviousReview | None = None


@dataclass(frozen=True, slots=True)
class RankedProblem:
    """A problem with the step it belongs to, and whether the reviewer raised it."""

    severity: str
    step: str
    text: str
    by_reviewer: bool


def ranked_problems(data: ReportData) -> list[RankedProblem]:
    """Reviewer findings and automatic problems, most severe first (findings before equal problems)."""
    titles = {s.id: s.title for s in data.steps}
    out: list[RankedProblem] = []
    for finding in data.findings.values():
        if not finding.nothing_found:
            text = finding.note or "(no note)"
            if finding.follow_up:
                text += f" — follow-up: {finding.follow_up}"
            out.append(
                RankedProblem(finding.severity, titles.get(finding.step_id, finding.step_id), text, True)
            )
    for ev in data.evidence:
        for problem in ev.problems:
            out.append(RankedProblem(problem.severity, ev.title, problem.text, False))
    out.sort(key=lambda p: (-severity_rank(p.severity), not p.by_reviewer))
    return out


def comparison_rows(data: ReportData) -> list[tuple[str, str, str, str, str]]:
    """``(step, figure, previous, now, change)`` for every figure both reviews have."""
    if data.previous is None:
        return []
    rows = []
    for ev in data.evidence:
        before = data.previous.metrics.get(ev.step_id, {})
        for name, now in ev.metrics.items():
            if name not in before:
                continue
            prev = before[name]
            change = f"{(now - prev) / prev:+.0%}" if prev else ("new" if now else "=")
            rows.append((ev.title, name.replace("_", " "), f"{prev:,.0f}", f"{now:,.0f}", change))
    return rows


# -- Markdown -------------------------------------------------------------------------------


def _md(text: str) -> str:
    """A table cell / inline text: sanitised, pipes and HTML-significant characters escaped."""
    safe = display_text(text)
    safe = safe.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    return html.escape(safe, quote=False).replace("*", "\\*").replace("_", "\\_")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(_md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out.extend("| " + " | ".join(_md(c) for c in row) + " |" for row in rows)
    return out


def render_markdown(data: ReportData) -> str:
    """The report as Markdown (GitHub flavour tables; log lines as indented code)."""
    out: list[str] = [f"# Postal log review: {data.window.label()}", ""]
    meta = [f"Reviewer: {_md(data.reviewer or '-')}"]
    if data.review_id is not None:
        meta.append(f"review #{data.review_id}")
    if data.hosts:
        meta.append("hosts: " + _md(", ".join(data.hosts)))
    if data.source:
        meta.append(f"source: {_md(data.source)}")
    if data.generated_at:
        meta.append(f"written {fmt_time(data.generated_at)} UTC")
    out += [" · ".join(meta), ""]
    problems = ranked_problems(data)
    out += ["## Problems first", ""]
    if problems:
        rows = [
            (p.severity.upper(), p.step, ("finding: " if p.by_reviewer else "") + p.text) for p in problems
        ]
        out += _md_table(("severity", "step", "problem"), rows)
    else:
        out.append("No problems were flagged and no findings recorded.")
    out += ["", "## Findings", ""]
    out += [_md_finding(step, data.findings.get(step.id)) for step in data.steps]
    out += ["", "## Compared with the previous review", ""]
    out += _md_previous(data)
    for ev in data.evidence:
        out += _md_evidence(ev)
    out.append("")
    return "\n".join(out)


def _md_finding(step: Step, finding: Finding | None) -> str:
    if finding is None:
        return f"- **{_md(step.title)}**: not reviewed"
    if finding.nothing_found:
        note = f" ({_md(finding.note)})" if finding.note else ""
        return f"- **{_md(step.title)}**: nothing found{note}"
    line = f"- **{_md(step.title)}**: {finding.severity.upper()} — {_md(finding.note or '(no note)')}"
    if finding.follow_up:
        line += f"; follow-up: {_md(finding.follow_up)}"
    return line


def _md_previous(data: ReportData) -> list[str]:
    if data.previous is None:
        return ["No earlier finished review to compare with."]
    out = [f"Previous review #{data.previous.id}: {data.previous.window.label()}", ""]
    out += _md_table(("step", "figure", "previous", "now", "change"), comparison_rows(data))
    follow = [f for f in data.previous.findings if f.follow_up and not f.nothing_found]
    if follow:
        out += ["", "Follow-ups recorded last time:", ""]
        out += [f"- {_md(f.follow_up)} ({_md(f.step_id)}, {f.severity})" for f in follow]
    return out


def _md_evidence(ev: Evidence) -> list[str]:
    out = ["", f"## {_md(ev.title)}", ""]
    out += [f"- {_md(s)}" for s in ev.summary]
    if ev.note:
        out += ["", f"_{_md(ev.note)}_"]
    for chart in ev.charts:
        out += ["", *("    " + line for line in render_chart(chart))]
    for table in ev.tables:
        out += ["", f"**{_md(table.title)}**", ""]
        out += _md_table(table.headers, table.rows) if table.rows else ["(none)"]
    if ev.lines:
        shown = ev.lines[-REPORT_LINES:]
        out += [
            "",
            f"Matching log lines (last {len(shown)} of {ev.line_total:,}; filter: {_md(ev.filter_text)}):",
            "",
        ]
        out += [f"    {line.host} {display_text(line.text)}" for line in shown]
    return out


# -- HTML -----------------------------------------------------------------------------------


def _h(text: str) -> str:
    return html.escape(display_text(text), quote=True)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["<table>", "<tr>" + "".join(f"<th>{_h(h)}</th>" for h in headers) + "</tr>"]
    out.extend("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in rows)
    out.append("</table>")
    return out


_CSS = (
    "body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #bbb;padding:2px 6px;text-align:left}"
    "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}"
    ".sev-high,.sev-critical{color:#b00;font-weight:bold}"
    ".sev-medium{color:#a60}"
)


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (no scripts, no external resources)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Postal log review {_h(data.window.label())}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Postal log review: {_h(data.window.label())}</h1>",
    ]
    meta = [f"Reviewer: {data.reviewer or '-'}"]
    if data.review_id is not None:
        meta.append(f"review #{data.review_id}")
    if data.hosts:
        meta.append("hosts: " + ", ".join(data.hosts))
    if data.source:
        meta.append(f"source: {data.source}")
    out.append(f"<p>{_h(' · '.join(meta))}</p>")
    out.append("<h2>Problems first</h2>")
    problems = ranked_problems(data)
    if problems:
        out.append("<table><tr><th>severity</th><th>step</th><th>problem</th></tr>")
        for p in problems:
            text = ("finding: " if p.by_reviewer else "") + p.text
            out.append(
                f'<tr><td class="sev-{_h(p.severity)}">{_h(p.severity.upper())}</td>'
                f"<td>{_h(p.step)}</td><td>{_h(text)}</td></tr>"
            )
        out.append("</table>")
    else:
        out.append("<p>No problems were flagged and no findings recorded.</p>")
    out.append("<h2>Findings</h2><ul>")
    for step in data.steps:
        out.append(f"<li><b>{_h(step.title)}</b>: {_h(_finding_state(data.findings.get(step.id)))}</li>")
    out.append("</ul><h2>Compared with the previous review</h2>")
    if data.previous is None:
        out.append("<p>No earlier finished review to compare with.</p>")
    else:
        out.append(f"<p>Previous review #{data.previous.id}: {_h(data.previous.window.label())}</p>")
        out += _html_table(("step", "figure", "previous", "now", "change"), comparison_rows(data))
    for ev in data.evidence:
        out += _html_evidence(ev)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _finding_state(finding: Finding | None) -> str:
    if finding is None:
        return "not reviewed"
    if finding.nothing_found:
        return "nothing found" + (f" ({finding.note})" if finding.note else "")
    state = f"{finding.severity.upper()} — {finding.note or '(no note)'}"
    if finding.follow_up:
        state += f"; follow-up: {finding.follow_up}"
    return state


def _html_evidence(ev: Evidence) -> list[str]:
    out = [f"<h2>{_h(ev.title)}</h2><ul>", *(f"<li>{_h(s)}</li>" for s in ev.summary), "</ul>"]
    if ev.note:
        out.append(f"<p><i>{_h(ev.note)}</i></p>")
    for chart in ev.charts:
        # one line at a time: a newline given to the sanitiser would be shown as ``^J``
        out.append("<pre>" + "\n".join(_h(line) for line in render_chart(chart)) + "</pre>")
    for table in ev.tables:
        out.append(f"<h3>{_h(table.title)}</h3>")
        out += _html_table(table.headers, table.rows) if table.rows else ["<p>(none)</p>"]
    if ev.lines:
        shown = ev.lines[-REPORT_LINES:]
        out.append(f"<p>Matching log lines (last {len(shown)} of {ev.line_total:,}):</p>")
        out.append("<pre>" + "\n".join(_h(f"{x.host} {x.text}") for x in shown) + "</pre>")
    return out


def render(data: ReportData, fmt: str) -> str:
    """``md`` or ``html``.

    Raises:
        ValueError: for another format.
    """
    if fmt == "md":
        return render_markdown(data)
    if fmt == "html":
        return render_html(data)
    raise ValueError(f"unknown report format {fmt!r}: use md or html")


__all__ = [
    "PreviousReview",
    "Problem",
    "ReportData",
    "ranked_problems",
    "render",
    "render_html",
    "render_markdown",
]
