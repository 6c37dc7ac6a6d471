"""The ledger: every file received, every version, every finding and the values accepted.

A SQLite database (`outputs/ledger.sqlite` by default, `[files] ledger` in inputs/config.toml),
written in transactions so that a run killed in the middle leaves it consistent: a file is either
recorded or not, judged or still `pending`; the next run judges what is pending and skips what is
recorded, so nothing is lost and nothing is counted twice.

Tables
------
runs              one row per ingestion run: id, period, started_at, finished_at, files_seen, files_new.
submissions       one row per distinct file content a province received for a period (UNIQUE period +
                  province + sha256):
                  id, period, sha256, size, original_name (path under the period folder, "/"),
                  archive_path (under outputs/, content-addressed), first_seen (UTC, ISO),
                  receipt_date (ISO date), receipt_source ('so-den' register or 'first_seen'),
                  run_id, format (xlsx/xlsm/xls/ods, NULL when unreadable),
                  unit_id (NULL when not identified), identified_by ('metadata' | 'sheet' |
                  'file_name' | NULL), template_version,
                  version (1, 2, ... per unit and period in the order received; NULL without a unit),
                  outcome ('pending' | 'accepted' | 'accepted_with_warnings' | 'rejected'),
                  errors, warnings (finding counts),
                  superseded (1 when a later accepted version of the same unit and period exists),
                  is_current (1 for the one accepted version per unit and period that counts),
                  judged_at, province (the province code of the project that received it: several
                  provinces may share one ledger; NULL in rows recorded before schema version 2).
findings          one row per finding: submission_id, unit_id, period, file, sheet, cell ("E7"),
                  value (as found, text), rule, severity ('error' | 'warning'), message (Vietnamese).
task_reports      one row per task row read (every judged version, accepted or not):
                  submission_id, unit_id, period, task_id, role, status, results, quantity,
                  documents, difficulties, proposals, sheet, row.
submission_info   the "Thông tin" inputs of each version read: submission_id, preparer, phone,
                  report_date (ISO), head_of_unit.
indicator_values  one row per indicator read: submission_id, unit_id, period, code, value (REAL,
                  NULL when blank or unreadable), raw (the cell as typed), note, sheet, cell.

Views (what the audit and consolidation read)
-----
latest_submissions        the latest judged version of each unit and period (its outcome says
                          accepted / accepted with warnings / rejected), with versions = how many.
current_task_reports      task rows of the current accepted versions, with file and version.
current_indicator_values  indicator values of the current accepted versions, with their
                          provenance: file (original name), archive_path, sheet, cell, version.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

SCHEMA_VERSION = 2
GROUP_COMMIT = 64   # verdicts per transaction while `judging`
PENDING, ACCEPTED, WARNED, REJECTED = "pending", "accepted", "accepted_with_warnings", "rejected"
ACCEPTED_OUTCOMES = (ACCEPTED, WARNED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    files_seen INTEGER NOT NULL DEFAULT 0,
    files_new INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    original_name TEXT NOT NULL,
    archive_path TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    receipt_date TEXT NOT NULL,
    receipt_source TEXT NOT NULL CHECK (receipt_source IN ('so-den', 'first_seen')),
    run_id INTEGER REFERENCES runs(id),
    format TEXT,
    unit_id TEXT,
    identified_by TEXT,
    template_version TEXT,
    version INTEGER,
    outcome TEXT NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'accepted', 'accepted_with_warnings', 'rejected')),
    errors INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    superseded INTEGER NOT NULL DEFAULT 0,
    is_current INTEGER NOT NULL DEFAULT 0,
    judged_at TEXT,
    province INTEGER,
    UNIQUE (period, province, sha256),
    UNIQUE (period, unit_id, version)
);
CREATE INDEX IF NOT EXISTS submissions_unit ON submissions (unit_id, period);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    unit_id TEXT,
    period TEXT NOT NULL,
    file TEXT NOT NULL,
    sheet TEXT NOT NULL DEFAULT '',
    cell TEXT NOT NULL DEFAULT '',
    value TEXT NOT NULL DEFAULT '',
    rule TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_submission ON findings (submission_id);
CREATE TABLE IF NOT EXISTS task_reports (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL,
    period TEXT NOT NULL,
    task_id TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    status TEXT,
    results TEXT,
    quantity REAL,
    documents TEXT,
    difficulties TEXT,
    proposals TEXT,
    sheet TEXT NOT NULL,
    row INTEGER NOT NULL,
    PRIMARY KEY (submission_id, task_id)
);
CREATE TABLE IF NOT EXISTS submission_info (
    submission_id INTEGER PRIMARY KEY REFERENCES submissions(id) ON DELETE CASCADE,
    preparer TEXT,
    phone TEXT,
    report_date TEXT,
    head_of_unit TEXT
);
CREATE TABLE IF NOT EXISTS indicator_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL,
    period TEXT NOT NULL,
    code TEXT NOT NULL,
    value REAL,
    raw TEXT NOT NULL DEFAULT '',
    note TEXT,
    sheet TEXT NOT NULL,
    cell TEXT NOT NULL,
    PRIMARY KEY (submission_id, code)
);
CREATE VIEW IF NOT EXISTS latest_submissions AS
    SELECT s.*, (SELECT COUNT(*) FROM submissions c
                 WHERE c.unit_id = s.unit_id AND c.period = s.period AND c.version IS NOT NULL) AS versions
    FROM submissions s
    WHERE s.version IS NOT NULL
      AND s.version = (SELECT MAX(v.version) FROM submissions v
                       WHERE v.unit_id = s.unit_id AND v.period = s.period AND v.version IS NOT NULL);
CREATE VIEW IF NOT EXISTS current_task_reports AS
    SELECT t.*, s.original_name AS file, s.archive_path, s.version, s.receipt_date
    FROM task_reports t JOIN submissions s ON s.id = t.submission_id
    WHERE s.is_current = 1;
CREATE VIEW IF NOT EXISTS current_indicator_values AS
    SELECT v.*, s.original_name AS file, s.archive_path, s.version, s.receipt_date
    FROM indicator_values v JOIN submissions s ON s.id = v.submission_id
    WHERE s.is_current = 1;
"""

FINDING_FIELDS = ("unit_id", "file", "sheet", "cell", "value", "rule", "severity", "message")
TASK_FIELDS = ("task_id", "role", "status", "results", "quantity", "documents", "difficulties", "proposals",
               "sheet", "row")
INDICATOR_FIELDS = ("code", "value", "raw", "note", "sheet", "cell")
_FINDING_VALUES, _TASK_VALUES, _INDICATOR_VALUES = (itemgetter(*f) for f in (FINDING_FIELDS, TASK_FIELDS,
                                                                             INDICATOR_FIELDS))


@dataclass(frozen=True)
class Received:
    """A file seen for the first time, as recorded before it is judged."""

    sha256: str
    size: int
    original_name: str
    archive_path: str
    first_seen: str
    receipt_date: str
    receipt_source: str


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


class Ledger:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._judged: int | None = None   # verdicts written so far while `judging`, else None
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, 1, SCHEMA_VERSION):
            from pipeline.errors import ConfigError

            raise ConfigError(f"Sổ cái {path} có phiên bản cấu trúc {version}, chương trình cần {SCHEMA_VERSION}")
        if version == 1:
            self._upgrade_from_1()
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _upgrade_from_1(self) -> None:
        """Version 2 records which province received each file, and a content is unique per
        province (two provinces sharing a ledger may each receive the same bytes). SQLite cannot
        change a table's constraints: the table is rebuilt and its rows copied (province NULL)."""
        columns = [r[1] for r in self.db.execute("PRAGMA table_info(submissions)")]
        create = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS submissions"):]
        create = create[:create.index(";")].replace("IF NOT EXISTS submissions", "submissions_v2")
        self.db.execute("PRAGMA foreign_keys=OFF")   # (no effect inside a transaction)
        try:
            with self.transaction():
                for view in ("latest_submissions", "current_task_reports", "current_indicator_values"):
                    self.db.execute(f"DROP VIEW IF EXISTS {view}")
                self.db.execute(create)
                self.db.execute(f"INSERT INTO submissions_v2 ({', '.join(columns)}) "
                                f"SELECT {', '.join(columns)} FROM submissions")
                self.db.execute("DROP TABLE submissions")
                self.db.execute("ALTER TABLE submissions_v2 RENAME TO submissions")
                if self.db.execute("PRAGMA foreign_key_check").fetchall():
                    raise sqlite3.IntegrityError("foreign keys broken by the upgrade of the ledger")
                self.db.execute("PRAGMA user_version=2")
        finally:
            self.db.execute("PRAGMA foreign_keys=ON")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def judging(self):
        """Verdicts (`judge`) committed GROUP_COMMIT files at a time, not one by one: each file's
        verdict is still written whole or not at all, and a run killed in the middle leaves the
        files of its last, uncommitted group pending, to be judged by the next run. (A commit
        writes every page a transaction touched to the WAL; per file that was most of the cost.)"""
        self._judged = 0
        try:
            yield self
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        finally:
            self._judged = None
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    @contextmanager
    def _verdict(self):
        """One file's verdict: its own transaction, or its share of the group's in `judging`."""
        if self._judged is None:
            with self.transaction():
                yield
            return
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
        yield   # an exception here propagates to `judging`, which rolls the group back
        self._judged += 1
        if self._judged % GROUP_COMMIT == 0:
            self.db.execute("COMMIT")

    # ------------------------------------------------------------ runs and receipt

    def start_run(self, period: str, now: str) -> int:
        with self.transaction():
            return self.db.execute("INSERT INTO runs (period, started_at) VALUES (?, ?)", (period, now)).lastrowid

    def finish_run(self, run_id: int, now: str, files_seen: int, files_new: int) -> None:
        with self.transaction():
            self.db.execute("UPDATE runs SET finished_at = ?, files_seen = ?, files_new = ? WHERE id = ?",
                            (now, files_seen, files_new, run_id))

    @staticmethod
    def _of_province(province: int | None, alias: str = "") -> tuple[str, tuple]:
        """The SQL condition (and its parameters) keeping one province's files; rows recorded
        before provinces were (NULL) belong to every province."""
        if province is None:
            return "", ()
        return f" AND ({alias}province IS NULL OR {alias}province = ?)", (province,)

    def known_hashes(self, period: str, province: int | None = None) -> set[str]:
        """The contents already recorded for the period (with `province`: by that province)."""
        where, params = self._of_province(province)
        return {r[0] for r in self.db.execute(f"SELECT sha256 FROM submissions WHERE period = ?{where}",
                                              (period, *params))}

    def record_received(self, period: str, run_id: int, files: list[Received], province: int | None = None) -> None:
        """Records new files as `pending`, all or none (one transaction)."""
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO submissions (period, sha256, size, original_name, archive_path, first_seen, "
                "receipt_date, receipt_source, run_id, province) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(period, f.sha256, f.size, f.original_name, f.archive_path, f.first_seen, f.receipt_date,
                  f.receipt_source, run_id, province) for f in files])

    def pending(self, period: str, province: int | None = None) -> list[sqlite3.Row]:
        """Files recorded but not yet judged (new ones, and any a killed run left), in receipt order;
        with `province`, only that province's."""
        where, params = self._of_province(province)
        return self.db.execute(
            f"SELECT * FROM submissions WHERE period = ? AND outcome = 'pending'{where} "
            "ORDER BY receipt_date, first_seen, original_name", (period, *params)).fetchall()

    # ------------------------------------------------------------ judging one file

    def judge(self, submission_id: int, *, unit_id: str | None, identified_by: str | None, fmt: str | None,
              template_version: str | None, outcome: str, findings: list[dict], tasks: list[dict],
              indicators: list[dict], receipt: tuple[str, str] | None, now: str,
              info: dict | None = None, attachment: bool = False) -> int | None:
        """Stores one file's verdict, findings and values, and moves the unit's current version,
        in one transaction (or its group's: `judging`). Returns the version number given (None
        without a unit, and for an `attachment`: a signed scan kept beside the unit's workbook,
        never a version of its own)."""
        with self._verdict():
            row = self.db.execute("SELECT period, outcome FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            if row is None or row["outcome"] != PENDING:
                return None  # judged already (by a run that finished after this one read it)
            period = row["period"]
            # (a pending file has no findings nor values: they are only ever written here, in the
            # same transaction that ends its pending state)
            version = None
            if unit_id is not None and not attachment:
                version = 1 + self.db.execute(
                    "SELECT COALESCE(MAX(version), 0) FROM submissions WHERE unit_id = ? AND period = ?",
                    (unit_id, period)).fetchone()[0]
            errors = sum(1 for f in findings if f["severity"] == "error")
            warnings = len(findings) - errors
            current = int(version is not None and outcome in ACCEPTED_OUTCOMES)
            self.db.execute(
                "UPDATE submissions SET unit_id = ?, identified_by = ?, format = ?, template_version = ?, version = ?, "
                "outcome = ?, errors = ?, warnings = ?, judged_at = ?, is_current = ? WHERE id = ?",
                (unit_id, identified_by, fmt, template_version, version, outcome, errors, warnings, now, current,
                 submission_id))
            if receipt is not None:
                self.db.execute("UPDATE submissions SET receipt_date = ?, receipt_source = ? WHERE id = ?",
                                (*receipt, submission_id))
            self.db.executemany(
                "INSERT INTO findings (submission_id, period, unit_id, file, sheet, cell, value, rule, severity, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(submission_id, period, *_FINDING_VALUES(f)) for f in findings])
            if unit_id is not None:
                self.db.executemany(
                    "INSERT OR REPLACE INTO task_reports (submission_id, unit_id, period, "
                    + ", ".join(TASK_FIELDS) + ") VALUES (?, ?, ?" + ", ?" * len(TASK_FIELDS) + ")",
                    [(submission_id, unit_id, period, *_TASK_VALUES(t)) for t in tasks])
                self.db.executemany(
                    "INSERT OR REPLACE INTO indicator_values (submission_id, unit_id, period, "
                    + ", ".join(INDICATOR_FIELDS) + ") VALUES (?, ?, ?" + ", ?" * len(INDICATOR_FIELDS) + ")",
                    [(submission_id, unit_id, period, *_INDICATOR_VALUES(i)) for i in indicators])
            if info:
                self.db.execute("INSERT INTO submission_info (submission_id, preparer, phone, report_date, head_of_unit) "
                                "VALUES (?, ?, ?, ?, ?)", (submission_id, info.get("preparer"), info.get("phone"),
                                                           info.get("report_date"), info.get("head_of_unit")))
            if current and version > 1:
                self._move_current(unit_id, period)
            return version

    def _move_current(self, unit_id: str, period: str) -> None:
        """The current version is the accepted one received last (receipt date, then the latest
        ingested), whatever order the files were ingested in: an older version brought in late
        supersedes nothing. The others are superseded."""
        current = self.db.execute(
            "SELECT id FROM submissions WHERE unit_id = ? AND period = ? AND version IS NOT NULL "
            f"AND outcome IN {ACCEPTED_OUTCOMES!r} ORDER BY receipt_date DESC, first_seen DESC, id DESC LIMIT 1",
            (unit_id, period)).fetchone()[0]
        self.db.execute("UPDATE submissions SET is_current = (id = ?), superseded = (id != ?) "
                        "WHERE unit_id = ? AND period = ? AND version IS NOT NULL",
                        (current, current, unit_id, period))

    # ------------------------------------------------------------ reading back

    def submissions(self, period: str, province: int | None = None) -> list[sqlite3.Row]:
        where, params = self._of_province(province)
        return self.db.execute(
            f"SELECT * FROM submissions WHERE period = ?{where} ORDER BY unit_id IS NULL, unit_id, version, original_name",
            (period, *params)).fetchall()

    def findings(self, period: str, submission_ids: list[int] | None = None,
                 province: int | None = None) -> list[sqlite3.Row]:
        where, params = self._of_province(province, "s.")
        sql = ("SELECT f.*, s.version, s.original_name FROM findings f JOIN submissions s ON s.id = f.submission_id "
               f"WHERE f.period = ?{where}")
        rows = self.db.execute(sql + " ORDER BY f.unit_id IS NULL, f.unit_id, s.version, f.file, f.id",
                               (period, *params)).fetchall()
        if submission_ids is not None:
            wanted = set(submission_ids)
            rows = [r for r in rows if r["submission_id"] in wanted]
        return rows

    def versions(self, unit_id: str, period: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM submissions WHERE unit_id = ? AND period = ? ORDER BY version",
                               (unit_id, period)).fetchall()

    def task_rows(self, submission_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM task_reports WHERE submission_id = ? ORDER BY row",
                               (submission_id,)).fetchall()

    def indicator_rows(self, submission_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM indicator_values WHERE submission_id = ? ORDER BY cell",
                               (submission_id,)).fetchall()

    def earlier_values(self, unit_ids: list[str], periods: list[str]) -> list[sqlite3.Row]:
        """The current accepted values of these units in these (earlier) periods."""
        if not unit_ids or not periods:
            return []
        out = []
        for chunk in range(0, len(unit_ids), 500):
            units = unit_ids[chunk:chunk + 500]
            out += self.db.execute(
                f"SELECT unit_id, period, code, value FROM current_indicator_values "
                f"WHERE value IS NOT NULL AND unit_id IN ({','.join('?' * len(units))}) "
                f"AND period IN ({','.join('?' * len(periods))})", (*units, *periods)).fetchall()
        return out


def version_changes(ledger: Ledger, older_id: int, newer_id: int) -> list[dict]:
    """What changed between two versions of a unit's file: one row per indicator value or task
    field that differs (what, sheet and cell in the newer file, old value, new value)."""
    changes = []
    old = {r["code"]: r for r in ledger.indicator_rows(older_id)}
    new = {r["code"]: r for r in ledger.indicator_rows(newer_id)}
    for code in sorted(set(old) | set(new)):
        a, b = old.get(code), new.get(code)
        before = (a["value"] if a["value"] is not None else a["raw"]) if a else None
        after = (b["value"] if b["value"] is not None else b["raw"]) if b else None
        if before != after or (a and b and (a["note"] or "") != (b["note"] or "")):
            where = b or a
            if before != after:
                changes.append({"what": f"chỉ tiêu {code}", "sheet": where["sheet"], "cell": where["cell"],
                                "before": before, "after": after})
            else:
                changes.append({"what": f"ghi chú chỉ tiêu {code}", "sheet": where["sheet"],
                                "cell": "F" + where["cell"][1:], "before": a["note"], "after": b["note"]})
    from pipeline.layout import TASK_COLUMNS

    fields = [(c.key, c.letter, c.header) for c in TASK_COLUMNS if c.is_input]
    old = {r["task_id"]: r for r in ledger.task_rows(older_id)}
    new = {r["task_id"]: r for r in ledger.task_rows(newer_id)}
    for task_id in [*new, *(t for t in old if t not in new)]:  # in the newer file's row order
        a, b = old.get(task_id), new.get(task_id)
        for key, letter, header in fields:
            before, after = (a[key] if a else None), (b[key] if b else None)
            if before != after:
                where = b or a
                changes.append({"what": f"nhiệm vụ {task_id}: {header}", "sheet": where["sheet"],
                                "cell": f"{letter}{where['row']}", "before": before, "after": after})
    return changes
