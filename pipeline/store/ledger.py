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
                  superseded (1 when another accepted version of the same unit and period is current),
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
report_builds, period_locks, lock_files, lock_exceptions, lock_events
                  the period locks (issue 16): described with their schema below.
mail_deliveries   one row per message sent (pipeline/mail/send.py): period, kind, unit_id, recipients,
                  message_id, attachments, attachment_sha256, content_key, time, outcome, error.
mail_collected    one row per attachment or message taken from the mailbox (pipeline/mail/collect.py):
                  period, message_id, sender, subject, message_date, attachment_name,
                  attachment_sha256, saved_as, outcome, reason, time.
                  The two mail tables are created only by a command that sends or collects; a ledger
                  without them reads as "nothing sent, nothing collected".

Views (what the audit and consolidation read)
-----
latest_submissions        the latest judged version of each unit and period (its outcome says
                          accepted / accepted with warnings / rejected), with versions = how many.
current_task_reports      task rows of the current accepted versions, with file and version.
current_indicator_values  indicator values of the current accepted versions, with their
                          provenance: file (original name), archive_path, sheet, cell, version.

This module holds every table, view and query: the other stages call its functions (the `Ledger`,
the period locks, the readers such as `judged_versions` and `current_rows`, the mail tables through
`MailLog`) and get plain rows, dicts or DataFrames back.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
import sys
from contextlib import closing, contextmanager
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.common.errors import BaocaoError
from pipeline.common.errors import ConfigError
from pipeline.forms.layout import TASK_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 2
GROUP_COMMIT = 64   # verdicts per transaction while `judging`
PENDING, ACCEPTED, WARNED, REJECTED = "pending", "accepted", "accepted_with_warnings", "rejected"
ACCEPTED_OUTCOMES = (ACCEPTED, WARNED)
# each outcome as the officer and the units read it
OUTCOME_LABELS = {ACCEPTED: "Chấp nhận", WARNED: "Chấp nhận (có cảnh báo)", REJECTED: "Không chấp nhận",
                  PENDING: "Chưa kiểm tra"}

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
_FINDING_VALUES = attrgetter(*FINDING_FIELDS)     # of a pipeline.intake.findings.Finding
_INSERT_FINDINGS = ("INSERT INTO findings (submission_id, period, unit_id, file, sheet, cell, value, rule, severity, "
                    "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_TASKS = ("INSERT OR REPLACE INTO task_reports (submission_id, unit_id, period, " + ", ".join(TASK_FIELDS)
                 + ") VALUES (?, ?, ?" + ", ?" * len(TASK_FIELDS) + ")")
_INSERT_INDICATORS = ("INSERT OR REPLACE INTO indicator_values (submission_id, unit_id, period, "
                      + ", ".join(INDICATOR_FIELDS) + ") VALUES (?, ?, ?" + ", ?" * len(INDICATOR_FIELDS) + ")")
_TASK_VALUES, _INDICATOR_VALUES = (itemgetter(*f) for f in (TASK_FIELDS, INDICATOR_FIELDS))


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


# ------------------------------------------------------------ opening safely

class LedgerError(BaocaoError):
    """The ledger cannot be used as asked (damaged, read-only, busy): one line, nothing written."""


# What the database raises when it fails under a command (the disk, another program, a file made
# read-only meanwhile), for the stages that let it through without speaking to SQLite themselves.
SqliteError = sqlite3.Error
DatabaseError = sqlite3.DatabaseError


LOCK_WAIT_SECONDS = 600   # how long a run waits for another one holding the ledger
_checked: dict[tuple, None] = {}   # (path, size, mtime) of ledgers found sound in this process


def _read_only(path: Path) -> bool:
    """Whether a file or folder is read-only for us. The permission bits count too: an
    administrator (root) may write anything, but a ledger the officer marked read-only must stay so."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if os.name == "nt" and stat.S_ISDIR(mode):
        # Windows' read-only attribute on a folder only marks a customised folder (desktop.ini);
        # files can still be created in it. A folder the account may not write to fails on
        # opening instead, and that is one line too (`ledger_failure`).
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _ro_uri(path: Path, snapshot: bool = False) -> str:
    """Read-only. Without a -wal file no connection is open on the ledger, and it can be read as
    an immutable file: SQLite then creates no -wal/-shm beside it (for the integrity check, and in
    a folder where it could not create them)."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if (snapshot or _read_only(path.parent)) and not Path(f"{path}-wal").exists():
        uri += "&immutable=1"
    return uri


def check_ledger(path: Path, writing: bool) -> None:
    """Refuses, with one Vietnamese line and without writing a byte, a ledger that is damaged
    (`PRAGMA quick_check`), or read-only (file or folder) when the command must write to it."""
    if writing:
        if path.exists() and _read_only(path):
            raise LedgerError(f"Sổ cái {path} đang ở chế độ chỉ đọc: không ghi được, lệnh dừng, sổ cái giữ "
                              f"nguyên. Bỏ thuộc tính chỉ đọc của tệp rồi chạy lại.")
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if _read_only(folder):
            raise LedgerError(f"Thư mục {folder} của sổ cái {path.name} chỉ đọc: không ghi được, lệnh dừng, "
                              f"sổ cái giữ nguyên. Cho phép ghi vào thư mục rồi chạy lại.")
    if not path.is_file():
        return
    try:
        info = path.stat()
    except OSError as exc:
        raise LedgerError(f"Không đọc được sổ cái {path}: {exc.strerror or exc}") from None
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key in _checked:
        return
    if not os.access(path, os.R_OK):
        raise LedgerError(f"Không có quyền đọc sổ cái {path}: lệnh dừng.")
    problem = ""
    try:
        db = sqlite3.connect(_ro_uri(path, snapshot=True), uri=True, timeout=30)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check(3)")]
        finally:
            db.close()
        if rows != ["ok"]:
            problem = "; ".join(str(r) for r in rows)
    except sqlite3.DatabaseError as exc:   # "file is not a database", "database disk image is malformed"
        if "locked" in str(exc) or "busy" in str(exc):
            raise LedgerError(f"Sổ cái {path} đang bị khóa bởi một chương trình khác: chạy lại sau.") from None
        problem = str(exc)
    if problem:
        raise LedgerError(f"Sổ cái {path} bị hỏng ({problem}): lệnh dừng, không ghi gì vào sổ cái. "
                          f"Khôi phục sổ cái từ bản sao lưu gần nhất rồi chạy lại.")
    _checked[key] = None


def ledger_failure(exc: sqlite3.DatabaseError) -> str | None:
    """One Vietnamese line for the ledger failing under a command (the disk, another program, a
    file made read-only meanwhile); None for an error that is not the ledger's state (a bug)."""
    text = str(exc).lower()
    for marks, line in (
            (("readonly", "read-only"), "Sổ cái chỉ đọc, không ghi được: lệnh dừng, phần chưa ghi không được lưu. "
                                        "Bỏ thuộc tính chỉ đọc của sổ cái và thư mục của nó rồi chạy lại."),
            (("locked", "busy"), "Sổ cái đang bị một chương trình khác khóa quá lâu: lệnh dừng, phần chưa ghi "
                                 "không được lưu. Đóng chương trình đó (hoặc chờ) rồi chạy lại."),
            (("malformed", "not a database", "corrupt"), "Sổ cái bị hỏng: lệnh dừng. Khôi phục sổ cái từ bản sao "
                                                          "lưu gần nhất rồi chạy lại."),
            (("disk i/o", "disk is full", "unable to open"), "Không đọc, ghi được sổ cái (ổ đĩa đầy, mất kết nối "
                                                              "hoặc không có quyền): lệnh dừng, phần chưa ghi "
                                                              "không được lưu.")):
        if any(mark in text for mark in marks):
            return f"{line} ({exc})"
    return None


def open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to a sound ledger, for the commands that only read it."""
    check_ledger(path, writing=False)
    try:
        db = sqlite3.connect(_ro_uri(path), uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise LedgerError(f"Không mở được sổ cái {path} để đọc: {exc}") from None
    return db


@contextmanager
def run_lock(path: Path, what: str = "nhập báo cáo"):
    """One run at a time writes a project's received files into this ledger: an exclusive lock
    on `<ledger>.lock` beside it, taken by SQLite (an OS lock, released when the process ends
    however it ends; SQLite takes it the same way on Windows and Linux, between processes and
    between threads of one). A second run waits, saying so, then goes on; after LOCK_WAIT_SECONDS
    it stops with one line. (The lock file stays empty: no journal, nothing written.)"""
    check_ledger(path, writing=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(f"{path}.lock")
    try:
        db = sqlite3.connect(lock, timeout=0, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerError(f"Không tạo được tệp khóa {lock}: {exc}") from None
    try:
        _take(db, path, lock, what)
        yield
    finally:
        db.close()   # (the transaction is dropped: the lock is released)


def _take(db: sqlite3.Connection, path: Path, lock: Path, what: str) -> None:
    """The lock at once, or after saying so and waiting up to LOCK_WAIT_SECONDS."""
    for wait in (0, LOCK_WAIT_SECONDS):
        if wait:
            print(f"Một lần chạy khác đang ghi sổ cái {path} ({what}): đang chờ lần đó xong "
                  f"(tối đa {LOCK_WAIT_SECONDS // 60} phút)...", file=sys.stderr, flush=True)
            db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        try:
            db.execute("PRAGMA journal_mode = OFF")   # (no journal file beside the lock: it never writes)
            db.execute("BEGIN EXCLUSIVE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname not in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise LedgerError(f"Không tạo được tệp khóa {lock}: {exc}") from None
        except sqlite3.DatabaseError as exc:   # (the lock file is not SQLite's: something else wrote it)
            raise LedgerError(f"Tệp khóa {lock} bị hỏng ({exc}): hãy xoá tệp đó rồi chạy lại.") from None
    raise LedgerError(f"Sổ cái {path} vẫn đang được một lần chạy khác ghi sau {LOCK_WAIT_SECONDS // 60} "
                      f"phút chờ: lệnh dừng, chưa ghi gì. Chạy lại khi lần kia xong.")


class Ledger:
    def __init__(self, path: Path, readonly: bool = False):
        """The ledger, checked first (`check_ledger`); `readonly` for the commands that only read."""
        check_ledger(path, writing=not readonly)
        self.path = path
        self._judged: int | None = None   # verdicts written so far while `judging`, else None
        if readonly:
            self.db = open_readonly(path)
            self.db.row_factory = sqlite3.Row
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, 1, SCHEMA_VERSION):

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
              template_version: str | None, outcome: str, findings: list, tasks: list[dict],
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
            errors = sum(1 for f in findings if f.severity == "error")
            warnings = len(findings) - errors
            current = int(version is not None and outcome in ACCEPTED_OUTCOMES)
            if current and locked_out(self, submission_id, unit_id):
                current = 0   # received after its period's lock: judged and kept, never current
            self.db.execute(
                "UPDATE submissions SET unit_id = ?, identified_by = ?, format = ?, template_version = ?, version = ?, "
                "outcome = ?, errors = ?, warnings = ?, judged_at = ?, is_current = ? WHERE id = ?",
                (unit_id, identified_by, fmt, template_version, version, outcome, errors, warnings, now, current,
                 submission_id))
            if receipt is not None:
                self.db.execute("UPDATE submissions SET receipt_date = ?, receipt_source = ? WHERE id = ?",
                                (*receipt, submission_id))
            if findings:   # (most files have none: no statement to run)
                self.db.executemany(_INSERT_FINDINGS, [(submission_id, period, *_FINDING_VALUES(f)) for f in findings])
            if unit_id is not None:
                if tasks:
                    self.db.executemany(_INSERT_TASKS, [(submission_id, unit_id, period, *_TASK_VALUES(t)) for t in tasks])
                if indicators:
                    self.db.executemany(_INSERT_INDICATORS,
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
        supersedes nothing; a file received after its period's lock never is (`LOCKED_OUT_SQL`).
        The others are superseded; with no version that counts, none is current nor superseded."""
        row = self.db.execute(
            "SELECT id FROM submissions s WHERE unit_id = ? AND period = ? AND version IS NOT NULL "
            f"AND outcome IN {ACCEPTED_OUTCOMES!r} AND NOT {LOCKED_OUT_SQL} "
            "ORDER BY receipt_date DESC, first_seen DESC, id DESC LIMIT 1",
            (unit_id, period)).fetchone()
        current = row[0] if row else None
        self.db.execute("UPDATE submissions SET is_current = (id IS ?), superseded = (? IS NOT NULL AND id IS NOT ?) "
                        "WHERE unit_id = ? AND period = ? AND version IS NOT NULL",
                        (current, current, current, unit_id, period))

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


# ------------------------------------------------------------ period locks (issue 16)
#
# report_builds    one row per report build (semiannual/annual): period, province, built_at, as_of (the
#                  day the submission status is counted to), last_submission (the highest submissions.id
#                  of the period then: the figures the build read), files (JSON {file name: sha256}).
# period_locks     one row per lock: the period's reports were issued. as_of and last_submission come
#                  from the build that was issued; unlocked_at/unlock_reason when it was lifted (an
#                  active lock has unlocked_at NULL; at most one per period and province).
# lock_files       the issued files of a lock: name (in outputs/<period>/), sha256, size.
# lock_exceptions  the units whose file received after the lock counts all the same (agreed exceptions).
# lock_events      the history: lock, exception, unlock (with its reason), when.
#
# A submission of a locked period recorded after the lock (id > last_submission) of a unit without an
# exception is "after the lock": archived, judged and shown, but never current (Ledger.judge asks
# `locked_out`; `refresh_current` re-derives is_current when a lock, an exception or an unlock changes).

_SCHEMA += """;
CREATE TABLE IF NOT EXISTS report_builds (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    province INTEGER,
    built_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    last_submission INTEGER NOT NULL,
    files TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS period_locks (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    province INTEGER,
    locked_at TEXT NOT NULL,
    as_of TEXT NOT NULL,
    last_submission INTEGER NOT NULL,
    unlocked_at TEXT,
    unlock_reason TEXT
);
CREATE TABLE IF NOT EXISTS lock_files (
    lock_id INTEGER NOT NULL REFERENCES period_locks(id),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (lock_id, name)
);
CREATE TABLE IF NOT EXISTS lock_exceptions (
    lock_id INTEGER NOT NULL REFERENCES period_locks(id),
    unit_id TEXT NOT NULL,
    PRIMARY KEY (lock_id, unit_id)
);
CREATE TABLE IF NOT EXISTS lock_events (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    province INTEGER,
    lock_id INTEGER NOT NULL REFERENCES period_locks(id),
    event TEXT NOT NULL CHECK (event IN ('lock', 'exception', 'unlock')),
    at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS unit_links (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    province INTEGER,
    unit_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    issued_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS unit_links_unit ON unit_links (period, unit_id)"""

# The SQL condition "submission s is after its period's active lock, without an exception" (judge,
# after_lock and judged_versions use it).
LOCKED_OUT_SQL = """EXISTS (SELECT 1 FROM period_locks l
    WHERE l.unlocked_at IS NULL AND l.period = s.period AND s.id > l.last_submission
      AND (l.province IS NULL OR s.province IS NULL OR l.province = s.province)
      AND NOT EXISTS (SELECT 1 FROM lock_exceptions e WHERE e.lock_id = l.id AND e.unit_id = s.unit_id))"""


def locked_out(ledger: Ledger, submission_id: int, unit_id: str | None) -> bool:
    """Whether this submission (being judged for `unit_id`) came after its period's active lock."""
    return ledger.db.execute(_LOCKED_OUT_ONE, (submission_id, unit_id)).fetchone() is not None


_LOCKED_OUT_ONE = f"SELECT 1 FROM submissions s WHERE s.id = ? AND {LOCKED_OUT_SQL.replace('s.unit_id', '?')}"


def active_lock(ledger: Ledger, period: str, province: int | None) -> sqlite3.Row | None:
    where, params = ledger._of_province(province)
    return ledger.db.execute(f"SELECT * FROM period_locks WHERE period = ? AND unlocked_at IS NULL{where} "
                           "ORDER BY id DESC LIMIT 1", (period, *params)).fetchone()


def last_submission(ledger: Ledger, period: str, province: int | None) -> int:
    where, params = ledger._of_province(province)
    return ledger.db.execute(f"SELECT COALESCE(MAX(id), 0) FROM submissions WHERE period = ?{where}",
                           (period, *params)).fetchone()[0]


def record_build(ledger: Ledger, period: str, province: int | None, built_at: str, as_of: str,
                  files: dict[str, str]) -> None:
    import json

    with ledger.transaction():
        ledger.db.execute("INSERT INTO report_builds (period, province, built_at, as_of, last_submission, files) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (period, province, built_at, as_of,
                                                      last_submission(ledger, period, province),
                                                      json.dumps(files, sort_keys=True)))


def last_build(ledger: Ledger, period: str, province: int | None) -> sqlite3.Row | None:
    where, params = ledger._of_province(province)
    return ledger.db.execute(f"SELECT * FROM report_builds WHERE period = ?{where} ORDER BY id DESC LIMIT 1",
                           (period, *params)).fetchone()


def add_lock(ledger: Ledger, period: str, province: int | None, now: str, as_of: str, last_submission: int,
              files: list[tuple[str, str, int]], exceptions: list[str]) -> int:
    with ledger.transaction():
        lock_id = ledger.db.execute(
            "INSERT INTO period_locks (period, province, locked_at, as_of, last_submission) VALUES (?, ?, ?, ?, ?)",
            (period, province, now, as_of, last_submission)).lastrowid
        ledger.db.executemany("INSERT INTO lock_files (lock_id, name, sha256, size) VALUES (?, ?, ?, ?)",
                            [(lock_id, *f) for f in files])
        ledger.db.execute("INSERT INTO lock_events (period, province, lock_id, event, at, detail) "
                        "VALUES (?, ?, ?, 'lock', ?, ?)", (period, province, lock_id, now,
                                                           ", ".join(name for name, *_ in files)))
        _insert_exceptions(ledger, lock_id, period, province, now, exceptions)
        refresh_current(ledger, period, province)
    return lock_id


def add_exceptions(ledger: Ledger, lock_id: int, period: str, province: int | None, now: str,
                        exceptions: list[str]) -> None:
    with ledger.transaction():
        _insert_exceptions(ledger, lock_id, period, province, now, exceptions)
        refresh_current(ledger, period, province)


def _insert_exceptions(ledger: Ledger, lock_id: int, period: str, province: int | None, now: str,
                    exceptions: list[str]) -> None:
    for unit_id in exceptions:
        if ledger.db.execute("INSERT OR IGNORE INTO lock_exceptions (lock_id, unit_id) VALUES (?, ?)",
                           (lock_id, unit_id)).rowcount:
            ledger.db.execute("INSERT INTO lock_events (period, province, lock_id, event, at, detail) "
                            "VALUES (?, ?, ?, 'exception', ?, ?)", (period, province, lock_id, now, unit_id))


def unlock(ledger: Ledger, lock_id: int, period: str, province: int | None, now: str, reason: str) -> None:
    with ledger.transaction():
        ledger.db.execute("UPDATE period_locks SET unlocked_at = ?, unlock_reason = ? WHERE id = ?",
                        (now, reason, lock_id))
        ledger.db.execute("INSERT INTO lock_events (period, province, lock_id, event, at, detail) "
                        "VALUES (?, ?, ?, 'unlock', ?, ?)", (period, province, lock_id, now, reason))
        refresh_current(ledger, period, province)


def refresh_current(ledger: Ledger, period: str, province: int | None) -> None:
    """Re-derives is_current and superseded of the period's versions (inside a transaction), unit
    by unit by the rule judge applies (`Ledger._move_current`), when a lock changes."""
    where, params = ledger._of_province(province)
    units = ledger.db.execute(f"SELECT DISTINCT unit_id FROM submissions WHERE period = ? AND unit_id IS NOT NULL "
                              f"AND version IS NOT NULL{where}", (period, *params)).fetchall()
    for (unit_id,) in units:
        ledger._move_current(unit_id, period)


def after_lock(ledger: Ledger, period: str, province: int | None) -> list[sqlite3.Row]:
    """The period's submissions recorded after its active lock (counted or not: an excepted unit's
    file is listed too, with `counted` = 1)."""
    lock = active_lock(ledger, period, province)
    if lock is None:
        return []
    where, params = ledger._of_province(province, "s.")
    return ledger.db.execute(
        f"SELECT s.*, NOT {LOCKED_OUT_SQL} AS counted FROM submissions s "
        f"WHERE s.period = ? AND s.id > ?{where} ORDER BY s.receipt_date, s.id",
        (period, lock["last_submission"], *params)).fetchall()


def lock_files(ledger: Ledger, lock_id: int) -> list[sqlite3.Row]:
    return ledger.db.execute("SELECT * FROM lock_files WHERE lock_id = ? ORDER BY name", (lock_id,)).fetchall()


def lock_exceptions(ledger: Ledger, lock_id: int) -> list[str]:
    return [r[0] for r in ledger.db.execute("SELECT unit_id FROM lock_exceptions WHERE lock_id = ? ORDER BY unit_id",
                                          (lock_id,))]




# ------------------------------------------------------------ what the other stages read (read-only)
#
# Each opens the ledger read-only (`open_readonly`: checked, never created nor written) and returns
# plain rows or a DataFrame. A ledger that does not exist, or that another command created before any
# file was ingested (no `submissions` table yet), reads as "nothing received".

RECEIPT_SQL = ("SELECT unit_id, period, version, outcome, receipt_date, errors, warnings, original_name AS file "
               "FROM submissions s WHERE unit_id IS NOT NULL AND version IS NOT NULL AND outcome != 'pending'")
RECEIPT_FIELDS = ("unit_id", "period", "version", "outcome", "receipt_date", "errors", "warnings", "file")


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _submission_rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows of a query on the ledger's submissions; none when there is no ledger or no file yet."""
    if not path.is_file():
        return []
    db = open_readonly(path)
    try:
        # a ledger another command created before any ingestion may not have the table yet
        return db.execute(sql, params).fetchall() if _has_table(db, "submissions") else []
    finally:
        db.close()


# A submission of this province, or recorded before provinces were (it counts for every province):
# what a province reads from a ledger several provinces share.
_OF_PROVINCE = "(province IS NULL OR province = ?)"


def judged_versions(path: Path, period_codes: list[str] | None = None, province: int | None = None) -> pd.DataFrame:
    """Every judged version of every identified unit (of these periods), RECEIPT_FIELDS, ordered by
    period, unit and version; a file received after its period's active lock is left out (it does
    not count: pipeline/store/lock.py). With `province`, only the files that province received
    (and those recorded before provinces were): a ledger shared by several provinces. An empty
    frame when nothing was received."""
    import pandas as pd   # loaded late: most commands open the ledger without reading frames

    empty = pd.DataFrame(columns=list(RECEIPT_FIELDS))
    if not path.is_file():
        return empty
    sql = RECEIPT_SQL
    args: tuple = ()
    if period_codes is not None:
        sql += f" AND period IN ({','.join('?' * len(period_codes))})"
        args = tuple(period_codes)
    if province is not None:
        sql += f" AND {_OF_PROVINCE}"
        args += (province,)
    db = open_readonly(path)
    try:
        if not _has_table(db, "submissions"):
            return empty
        if _has_table(db, "period_locks"):
            sql += f" AND NOT {LOCKED_OUT_SQL}"
        return pd.read_sql_query(sql + " ORDER BY period, unit_id, version", db, params=args)
    finally:
        db.close()


def unidentified_names(path: Path, period_code: str, as_of: str, province: int | None = None) -> list[str]:
    """The files judged for the period, received by `as_of` (ISO date), whose unit could not be
    identified, by name; with `province`, only those that province received."""
    where = f" AND {_OF_PROVINCE}" if province is not None else ""
    rows = _submission_rows(path, "SELECT original_name FROM submissions WHERE period = ? AND unit_id IS NULL "
                            f"AND outcome != 'pending' AND substr(receipt_date, 1, 10) <= ?{where} "
                            "ORDER BY original_name",
                            (period_code, as_of, *(() if province is None else (province,))))
    return [r[0] for r in rows]


def periods_received(path: Path) -> list[str]:
    """The period codes that have at least one file in the ledger."""
    return [r[0] for r in _submission_rows(path, "SELECT DISTINCT period FROM submissions")]


def received_hashes(path: Path, period_code: str, province: int | None) -> set[str]:
    """The SHA-256 of every file recorded for the period by this province (or before provinces were)."""
    return {r[0] for r in _submission_rows(path, "SELECT sha256 FROM submissions WHERE period = ? "
                                                 f"AND {_OF_PROVINCE}", (period_code, province))}


def pending_names(path: Path, period_code: str, province: int | None) -> list[str]:
    """The files of the period recorded but not judged yet (a killed run left them pending)."""
    return [r[0] for r in _submission_rows(
        path, "SELECT original_name FROM submissions WHERE period = ? AND outcome = 'pending' "
              f"AND {_OF_PROVINCE}", (period_code, province))]


def signed_scans(path: Path, period_code: str, province: int | None) -> list[tuple[str, str]]:
    """(unit id, file name) of the signed scans (PDF, images) kept beside the units' workbooks."""
    if not path.is_file():
        return []
    with closing(open_readonly(path)) as db:
        try:
            return db.execute("SELECT unit_id, original_name FROM submissions WHERE period = ? AND unit_id IS NOT NULL "
                              "AND version IS NULL AND format IN ('pdf', 'image') "
                              f"AND {_OF_PROVINCE} ORDER BY original_name",
                              (period_code, province)).fetchall()
        except sqlite3.OperationalError:   # a ledger without submissions yet
            return []


def current_rows(path: Path, periods: list[str], task_columns: list[str],
                 value_columns: list[str], province: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current accepted task rows (`current_task_reports`) and indicator values
    (`current_indicator_values`) of these periods, these columns, in a stable order, read in one
    connection; with `province`, only that province's files (and those recorded before provinces
    were, which count for every province): a ledger shared by several provinces. The ledger must
    exist."""
    import pandas as pd   # loaded late: most commands open the ledger without reading frames

    marks = ",".join("?" * len(periods))
    mine = ""
    params = list(periods)
    if province is not None:
        mine = f" AND submission_id IN (SELECT id FROM submissions WHERE {_OF_PROVINCE})"
        params.append(province)
    db = open_readonly(path)  # read only, checked; any path
    try:
        tasks = pd.read_sql_query(
            f"SELECT {', '.join(task_columns)} FROM current_task_reports WHERE period IN ({marks}){mine} "
            f"ORDER BY period, unit_id, row", db, params=params)
        values = pd.read_sql_query(
            f"SELECT {', '.join(value_columns)} FROM current_indicator_values WHERE period IN ({marks}){mine} "
            f"ORDER BY period, unit_id, code", db, params=params)
    finally:
        db.close()
    return tasks, values


def latest_findings(path: Path, period_code: str, unit_id: str) -> list[dict]:
    """The findings (sheet, cell, message, severity; errors first) of the unit's latest judged
    version of the period; none without a ledger, a judged version, or ingestion's tables."""
    if not path.is_file():
        return []
    with closing(open_readonly(path)) as db:
        db.row_factory = sqlite3.Row
        try:
            latest = db.execute("SELECT id FROM latest_submissions WHERE period = ? AND unit_id = ? "
                                "ORDER BY id DESC LIMIT 1", (period_code, unit_id)).fetchone()
            if latest is None:
                return []
            rows = db.execute("SELECT sheet, cell, message, severity FROM findings WHERE submission_id = ? "
                              "ORDER BY severity = 'warning', id", (latest["id"],)).fetchall()
        except sqlite3.OperationalError:  # an older ledger without ingestion's tables
            return []
    return [dict(r) for r in rows]


# ------------------------------------------------------------ mail (pipeline/mail)
#
# mail_deliveries  one row per message sent (send): period, kind (distribute | feedback | reminder),
#                  unit_id, recipients, message_id, attachments (names, ' | ' separated),
#                  attachment_sha256 (',' separated), content_key, time (UTC, ISO), outcome
#                  (sending | sent | failed), error.
# mail_collected   one row per attachment (or message) taken from the mailbox (collect): period,
#                  message_id, sender, subject, message_date (the receipt date), attachment_name,
#                  attachment_sha256, saved_as, outcome (saved | duplicate | unusable), reason, time.
#
# They are created only by a command that writes mail (sending; collecting), never by a dry run or a
# reader: a ledger without them reads as "nothing sent, nothing collected".

MAIL_DELIVERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_deliveries (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attachments TEXT NOT NULL,          -- file names, ' | ' separated
    attachment_sha256 TEXT NOT NULL,    -- the files' SHA-256, ',' separated
    content_key TEXT NOT NULL,          -- what "the same content" means for a rerun (see content_key)
    time TEXT NOT NULL,                 -- ISO 8601, UTC
    outcome TEXT NOT NULL,              -- sending | sent | failed
    error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mail_deliveries_unit ON mail_deliveries (period, kind, unit_id);
"""

MAIL_COLLECTED_SCHEMA = """
CREATE TABLE IF NOT EXISTS mail_collected (
    id INTEGER PRIMARY KEY,
    period TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_date TEXT NOT NULL,          -- the receipt date, ISO
    attachment_name TEXT NOT NULL,       -- as sent; 'a.zip/b.xlsx' for a file inside a zip; '' for the message
    attachment_sha256 TEXT NOT NULL,
    saved_as TEXT NOT NULL,              -- relative to the period folder; '' when not saved
    outcome TEXT NOT NULL,               -- saved | duplicate | unusable
    reason TEXT NOT NULL,
    time TEXT NOT NULL                   -- when it was collected, ISO 8601 UTC
);
CREATE INDEX IF NOT EXISTS mail_collected_message ON mail_collected (period, message_id);
CREATE INDEX IF NOT EXISTS mail_collected_hash ON mail_collected (period, attachment_sha256);
"""



class MailLog:
    """The ledger's mail tables, for sending and collecting (`open_mail_log`). Each write is its own
    transaction, committed when the call returns."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def close(self) -> None:
        self._db.close()

    # ---- deliveries (pipeline/mail/send.py)

    def last_delivery(self, period_code: str, kind: str, unit_id: str, outcomes: tuple[str, ...],
                      content_key: str | None = None) -> dict | None:
        """The latest delivery of this kind to this unit with one of `outcomes` (and, when given,
        this content key); None when there is none, or no table (read-only, nothing ever sent)."""
        query = (f"SELECT * FROM mail_deliveries WHERE period = ? AND kind = ? AND unit_id = ? "
                 f"AND outcome IN ({', '.join('?' * len(outcomes))})")
        args = [period_code, kind, unit_id, *outcomes]
        if content_key is not None:
            query += " AND content_key = ?"
            args.append(content_key)
        try:
            row = self._db.execute(query + " ORDER BY id DESC LIMIT 1", args).fetchone()
        except sqlite3.OperationalError:   # read-only, and nothing was ever sent: no table yet
            return None
        return dict(row) if row is not None else None

    def first_delivery_time(self, period_code: str, kind: str, outcome: str) -> str | None:
        """The time (ISO, UTC) of the period's first delivery of this kind with this outcome."""
        try:
            row = self._db.execute("SELECT MIN(time) FROM mail_deliveries WHERE period = ? AND kind = ? "
                                   "AND outcome = ?", (period_code, kind, outcome)).fetchone()
        except sqlite3.OperationalError:   # no table: nothing was ever sent
            return None
        return row[0] if row else None

    def deliveries(self, period_code: str | None = None) -> list[dict]:
        """Every delivery (of the period), in the order recorded."""
        try:
            if period_code is None:
                rows = self._db.execute("SELECT * FROM mail_deliveries ORDER BY id").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM mail_deliveries WHERE period = ? ORDER BY id",
                                        (period_code,)).fetchall()
        except sqlite3.OperationalError:   # no table: nothing was ever sent
            return []
        return [dict(r) for r in rows]

    def start_delivery(self, period_code: str, kind: str, unit_id: str, recipients: str, message_id: str,
                       attachments: str, attachment_sha256: str, content_key: str, time: str, outcome: str) -> int:
        """Records a delivery about to go out; its row id."""
        with self._db:
            return self._db.execute(
                "INSERT INTO mail_deliveries (period, kind, unit_id, recipients, message_id, attachments, "
                "attachment_sha256, content_key, time, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (period_code, kind, unit_id, recipients, message_id, attachments, attachment_sha256, content_key,
                 time, outcome)).lastrowid

    def end_delivery(self, row_id: int, outcome: str, error: str, time: str) -> None:
        with self._db:
            self._db.execute("UPDATE mail_deliveries SET outcome = ?, error = ?, time = ? WHERE id = ?",
                             (outcome, error, time, row_id))

    def forget_delivery(self, row_id: int) -> None:
        """Removes a delivery that never left (the server refused the session, not the message)."""
        with self._db:
            self._db.execute("DELETE FROM mail_deliveries WHERE id = ?", (row_id,))

    # ---- collected messages (pipeline/mail/collect.py)

    def start_collecting(self) -> None:
        """Creates the `mail_collected` table if needed (collecting writes)."""
        self._db.executescript(MAIL_COLLECTED_SCHEMA)

    def taken_before(self, period_code: str, message_key: str) -> bool:
        return self._db.execute("SELECT 1 FROM mail_collected WHERE period = ? AND message_id = ? LIMIT 1",
                                (period_code, message_key)).fetchone() is not None

    def saved_as(self, period_code: str, sha256: str, outcome: str) -> str | None:
        """The name an attachment of this content was saved under for the period (rows with `outcome`)."""
        row = self._db.execute("SELECT saved_as FROM mail_collected WHERE period = ? AND attachment_sha256 = ? "
                               "AND outcome = ? LIMIT 1", (period_code, sha256, outcome)).fetchone()
        return row[0] if row else None

    def record_collected(self, rows: list[tuple]) -> None:
        """Records what was taken from one message, all or none; each row: period, message_id, sender,
        subject, message_date, attachment_name, attachment_sha256, saved_as, outcome, reason, time."""
        with self._db:
            self._db.executemany("INSERT INTO mail_collected (period, message_id, sender, subject, message_date, "
                                 "attachment_name, attachment_sha256, saved_as, outcome, reason, time) "
                                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def open_mail_log(path: Path, write: bool = True) -> MailLog | None:
    """The ledger's mail tables, the ledger checked first (damaged or read-only: one line, nothing
    written). Read-only unless `write` (None when there is no ledger yet: nothing was sent); writing
    creates the ledger and `mail_deliveries` if needed."""
    if not write:
        if not path.is_file():
            return None
        db = open_readonly(path)
        db.row_factory = sqlite3.Row
        return MailLog(db)
    check_ledger(path, writing=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    db.executescript(MAIL_DELIVERIES_SCHEMA)
    return MailLog(db)


# ---------------------------------------------------------------- the units' upload links (web)
# A link's token is never stored: only its SHA-256, so a copy of the ledger opens no unit's page.

def issue_link(ledger: Ledger, period: str, province: int | None, unit_id: str, token_sha256: str,
               now: str) -> None:
    """Records a unit's new link for the period, revoking the one it had (one live link per unit)."""
    with ledger.transaction():
        ledger.db.execute("UPDATE unit_links SET revoked_at = ? WHERE period = ? AND unit_id = ? AND revoked_at IS NULL "
                          "AND province IS ?", (now, period, unit_id, province))
        ledger.db.execute("INSERT INTO unit_links (period, province, unit_id, token_sha256, issued_at) "
                          "VALUES (?, ?, ?, ?, ?)", (period, province, unit_id, token_sha256, now))


def revoke_link(ledger: Ledger, period: str, province: int | None, unit_id: str, now: str) -> int:
    """Revokes a unit's live link for the period; how many were revoked (0 or 1)."""
    with ledger.transaction():
        return ledger.db.execute("UPDATE unit_links SET revoked_at = ? WHERE period = ? AND unit_id = ? "
                                 "AND revoked_at IS NULL AND province IS ?", (now, period, unit_id, province)).rowcount


def live_links(ledger: Ledger, period: str, province: int | None) -> dict[str, str]:
    """unit id -> token hash of each unit's live link for the period."""
    return {r["unit_id"]: r["token_sha256"] for r in ledger.db.execute(
        "SELECT unit_id, token_sha256 FROM unit_links WHERE period = ? AND province IS ? AND revoked_at IS NULL",
        (period, province))}


def link_owner(ledger: Ledger, token_sha256: str, province: int | None) -> sqlite3.Row | None:
    """The live link with this token hash (its period and unit), or None (unknown or revoked)."""
    return ledger.db.execute("SELECT period, unit_id FROM unit_links WHERE token_sha256 = ? AND province IS ? "
                             "AND revoked_at IS NULL", (token_sha256, province)).fetchone()


def submission_by_sha(ledger: Ledger, period: str, province: int | None, sha256: str) -> sqlite3.Row | None:
    """The period's submission with this content (what a web upload became once ingested)."""
    where, params = ledger._of_province(province)
    return ledger.db.execute(f"SELECT * FROM submissions WHERE period = ? AND sha256 = ?{where}",
                             (period, sha256, *params)).fetchone()


def submission_findings(ledger: Ledger, submission_id: int) -> list[sqlite3.Row]:
    """One submission's findings, in the order they were found."""
    return ledger.db.execute("SELECT * FROM findings WHERE submission_id = ? ORDER BY id", (submission_id,)).fetchall()


def unit_submissions(ledger: Ledger, period: str, province: int | None, unit_id: str, name_prefix: str) -> list[sqlite3.Row]:
    """A unit's files of the period: those counted for it, and those saved under its own name prefix
    (sent through its page, even when their content named another unit), in the order received."""
    where, params = ledger._of_province(province)
    return ledger.db.execute(
        f"SELECT * FROM submissions WHERE period = ? AND (unit_id = ? OR substr(original_name, 1, ?) = ?){where} "
        "ORDER BY id", (period, unit_id, len(name_prefix), name_prefix, *params)).fetchall()
