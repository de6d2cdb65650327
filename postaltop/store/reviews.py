"""Reviews kept in SQLite (``$XDG_DATA_HOME/postaltop/reviews.sqlite3``, mode 0600).

One row per review (reviewer, window, hosts, position, state, the figures of each step for the next
review's comparison, the report path) and one row per (review, step) finding. Also loads the
packaged checklist merged with the ``[review]`` settings.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from postaltop import locations
from postaltop.config.sections.review import ReviewConfig
from postaltop.core.review.checklist import Step, merge_steps, parse_checklist, step_from_mapping
from postaltop.core.review.model import Evidence, Finding
from postaltop.core.review.report import PreviousReview, ReportData, render
from postaltop.core.review.window import Window
from postaltop.private_files import connect_private, open_private_text

FILE_NAME = "reviews.sqlite3"
_SELECT = (
    "SELECT id, reviewer, created_at, window_start, window_end, hosts, source, steps, position,"
    " finished_at, report_path FROM reviews"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reviewer TEXT NOT NULL,
    created_at REAL NOT NULL,
    window_start REAL NOT NULL,
    window_end REAL NOT NULL,
    hosts TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT '',
    steps TEXT NOT NULL DEFAULT '[]',
    position INTEGER NOT NULL DEFAULT 0,
    finished_at REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    report_path TEXT
);
CREATE TABLE IF NOT EXISTS findings (
    review_id INTEGER NOT NULL REFERENCES reviews(id),
    step_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    follow_up TEXT NOT NULL DEFAULT '',
    nothing_found INTEGER NOT NULL DEFAULT 0,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (review_id, step_id)
);
"""


def packaged_text(name: str) -> str:
    """A data file shipped in the package (``postaltop/data/<name>``)."""
    return (resources.files("postaltop") / "data" / name).read_text(encoding="utf-8")


def load_checklist(config: ReviewConfig | None = None) -> list[Step]:
    """The packaged checklist (or ``checklist_file``), with the config's steps added/replaced and skipped.

    Raises:
        ChecklistError: an unusable checklist file or step.
        OSError: the checklist file cannot be read.
    """
    config = config or ReviewConfig()
    if config.checklist_file is not None:
        path = config.checklist_file.expanduser()
        base = parse_checklist(path.read_text(encoding="utf-8"), str(path))
    else:
        base = parse_checklist(packaged_text("checklist.toml"), "postaltop/data/checklist.toml")
    extra = [
        step_from_mapping(s.model_dump(exclude_none=True), f"[[review.steps]] #{i}")
        for i, s in enumerate(config.steps, 1)
    ]
    return merge_steps(base, extra, config.skip)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """One stored review."""

    id: int
    reviewer: str
    created_at: float
    window: Window
    hosts: list[str]
    source: str
    steps: list[str]
    position: int
    finished_at: float | None
    report_path: str | None

    @property
    def finished(self) -> bool:
        """True once the report was written."""
        return self.finished_at is not None


def default_path() -> Path:
    """Where reviews are kept."""
    return locations.data_dir() / FILE_NAME


def current_reviewer() -> str:
    """The OS user running the review."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


class ReviewStore:
    """The reviews database (created on first use, private to the user)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._db = connect_private(self.path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def create(self, reviewer: str, window: Window, hosts: list[str], source: str, steps: list[str]) -> int:
        """Start a review; returns its id."""
        with self._db:
            cur = self._db.execute(
                "INSERT INTO reviews (reviewer, created_at, window_start, window_end, hosts, source, steps)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    reviewer,
                    time.time(),
                    window.start,
                    window.end,
                    json.dumps(hosts),
                    source,
                    json.dumps(steps),
                ),
            )
        return int(cur.lastrowid or 0)

    def _record(self, row: tuple[object, ...]) -> ReviewRecord:
        (ident, reviewer, created, start, end, hosts, source, steps, position, finished, report) = row
        return ReviewRecord(
            int(str(ident)),
            str(reviewer),
            float(str(created)),
            Window(float(str(start)), float(str(end))),
            list(json.loads(str(hosts))),
            str(source),
            list(json.loads(str(steps))),
            int(str(position)),
            None if finished is None else float(str(finished)),
            None if report is None else str(report),
        )

    def get(self, review_id: int) -> ReviewRecord | None:
        """One review by id."""
        row = self._db.execute(_SELECT + " WHERE id = ?", (review_id,)).fetchone()
        return None if row is None else self._record(row)

    def last_unfinished(self) -> ReviewRecord | None:
        """The most recent review without a report."""
        row = self._db.execute(_SELECT + " WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self._record(row)

    def list(self, limit: int = 20) -> list[ReviewRecord]:
        """The latest reviews, newest first."""
        rows = self._db.execute(_SELECT + " ORDER BY id DESC LIMIT ?", (limit,))
        return [self._record(r) for r in rows.fetchall()]

    def set_position(self, review_id: int, position: int) -> None:
        """Remember the step the reviewer is on (``--resume`` returns there)."""
        with self._db:
            self._db.execute("UPDATE reviews SET position = ? WHERE id = ?", (position, review_id))

    def record_finding(self, review_id: int, finding: Finding) -> None:
        """Store (or replace) the finding of one step."""
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO findings"
                " (review_id, step_id, severity, note, follow_up, nothing_found, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    review_id,
                    finding.step_id,
                    finding.severity,
                    finding.note,
                    finding.follow_up,
                    int(finding.nothing_found),
                    finding.recorded_at or time.time(),
                ),
            )

    def findings(self, review_id: int) -> dict[str, Finding]:
        """The findings of a review by step id."""
        rows = self._db.execute(
            "SELECT step_id, severity, note, follow_up, nothing_found, recorded_at FROM findings"
            " WHERE review_id = ? ORDER BY recorded_at",
            (review_id,),
        ).fetchall()
        return {r[0]: Finding(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows}

    def finish(self, review_id: int, metrics: dict[str, dict[str, float]], report_path: str | None) -> None:
        """Mark the review done, with the figures the next review compares against."""
        with self._db:
            self._db.execute(
                "UPDATE reviews SET finished_at = ?, metrics = ?, report_path = ? WHERE id = ?",
                (time.time(), json.dumps(metrics), report_path, review_id),
            )

    def save_metrics(self, review_id: int, metrics: dict[str, dict[str, float]]) -> None:
        """Store the step figures without finishing (reports of unfinished reviews)."""
        with self._db:
            self._db.execute("UPDATE reviews SET metrics = ? WHERE id = ?", (json.dumps(metrics), review_id))

    def previous(self, before_id: int | None = None) -> PreviousReview | None:
        """The last finished review (before ``before_id`` when given), for the comparison."""
        sql = "SELECT id, window_start, window_end, metrics FROM reviews WHERE finished_at IS NOT NULL"
        args: tuple[object, ...] = ()
        if before_id is not None:
            sql += " AND id < ?"
            args = (before_id,)
        row = self._db.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        ident = int(row[0])
        metrics = json.loads(row[3] or "{}")
        return PreviousReview(ident, Window(row[1], row[2]), metrics, tuple(self.findings(ident).values()))


class ReviewSession:
    """A review in progress: its steps and evidence, findings kept in the store as they are made.

    Args:
        store: where the review is kept.
        review_id: the stored review.
        steps: the checklist.
        evidence: one per step, same order.
        report_dir: where :meth:`finish` writes the report.
        hosts: hosts reviewed; source: where the data came from (shown in the report).
    """

    def __init__(
        self,
        store: ReviewStore,
        review_id: int,
        steps: list[Step],
        evidence: list[Evidence],
        report_dir: Path,
        *,
        hosts: list[str] | None = None,
        source: str = "",
        formats: tuple[str, ...] = ("md", "html"),
    ) -> None:
        record = store.get(review_id)
        if record is None:
            raise KeyError(f"no review {review_id}")
        self.store = store
        self.review = record
        self.review_id = review_id
        self.steps = steps
        self.evidence = evidence
        self.report_dir = report_dir
        self.hosts = hosts or record.hosts
        self.source = source or record.source
        self.formats = formats
        self.position = min(record.position, len(steps) - 1)
        self.findings: dict[str, Finding] = store.findings(review_id)
        self.report_paths: list[Path] = []

    @property
    def step(self) -> Step:
        """The current step."""
        return self.steps[self.position]

    @property
    def current(self) -> Evidence:
        """The current step's evidence."""
        return self.evidence[self.position]

    def move(self, delta: int) -> bool:
        """Go to the next (+1) or previous (-1) step; False at either end."""
        target = self.position + delta
        if not 0 <= target < len(self.steps):
            return False
        self.position = target
        self.store.set_position(self.review_id, target)
        return True

    def record(self, severity: str, note: str, follow_up: str = "", nothing_found: bool = False) -> Finding:
        """Record the current step's finding (replacing an earlier one)."""
        finding = Finding(
            self.step.id, severity, note.strip()[:2000], follow_up.strip()[:500], nothing_found, time.time()
        )
        self.store.record_finding(self.review_id, finding)
        self.findings[finding.step_id] = finding
        return finding

    def report_data(self) -> ReportData:
        """The report's content."""
        return ReportData(
            window=self.review.window,
            steps=self.steps,
            evidence=self.evidence,
            findings=self.findings,
            reviewer=self.review.reviewer,
            hosts=self.hosts,
            generated_at=time.time(),
            review_id=self.review_id,
            source=self.source,
            previous=self.store.previous(self.review_id),
        )

    def finish(self) -> list[Path]:
        """Write the report(s) (0600) and mark the review finished; returns the files written."""
        data = self.report_data()
        locations.ensure_dir(self.report_dir)
        stamp = time.strftime("%Y%m%d-%H%M", time.gmtime(self.review.window.end))
        paths = []
        for fmt in self.formats:
            path = self.report_dir / f"review-{self.review_id}-{stamp}.{fmt}"
            with open_private_text(path, "w") as fh:
                fh.write(render(data, fmt))
            paths.append(path)
        metrics = {ev.step_id: dict(ev.metrics) for ev in self.evidence}
        self.store.finish(self.review_id, metrics, str(paths[0]) if paths else None)
        self.report_paths = paths
        return paths


def default_report_dir(config: ReviewConfig | None = None) -> Path:
    """Where review reports go."""
    if config is not None and config.report_dir is not None:
        return config.report_dir.expanduser()
    return locations.data_dir() / "reports"
