"""The audit: who owes a report this period, who sent it, when, and whether it was accepted.

One computation, `submission_status`, answers it for every expected unit; `rates` turns it into
DHIS2's two figures. The audit command and appendix III of the summary reports both call these,
so the officer sees the same numbers everywhere.

Status rules, as of a day `as_of` (default today), for a period whose deadline is D. Only the
versions received by `as_of` (receipt date from the register so-den.csv, else first seen) count,
so an audit can be replayed for any day:

- on time      the unit's first accepted version was received on or before D;
- late         its first accepted version was received after D (days late = receipt - D);
- rejected     no accepted version yet, and its latest version has errors;
- not yet received   nothing received, and `as_of` <= D (not overdue yet);
- missing      nothing received, and `as_of` > D.

"Accepted" includes accepted with warnings, shown as a flag on on-time and late units.

Timeliness keeps the first completion date, as DHIS2 does: a correction re-sent after the deadline
by a unit whose first accepted version came on time leaves the unit on time (its newer version is
the one consolidated; `corrected_after_deadline` says so). A rejected file does not stop the clock:
a unit whose only on-time file was rejected and whose fix came after D is late. A unit whose
earlier version was accepted keeps its status when a later correction is rejected (the accepted
version stays the one consolidated); `latest_outcome` shows the rejected correction.

Completeness = units with an accepted version / expected units; timeliness = units whose first
accepted version was on time / expected units.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from pipeline.common.clock import today
from pipeline.store.ledger import (judged_versions, pending_names, periods_received, received_hashes,
                                   unidentified_names)
from pipeline.reference.periods import Period
from pipeline.reference.units import COMMUNE
from pipeline.reference.project import Project
from pipeline.common.errors import BaocaoError
from pipeline.intake.ingest import Source, ingest_many
from pipeline.intake.receive import discover, sha256_of, submissions_dir
from pipeline.reference.obligations import expected_units
from pipeline.reference.periods import parse_period

ON_TIME, LATE, REJECTED, NOT_YET, MISSING = "on_time", "late", "rejected", "not_yet_received", "missing"
STATUSES = (ON_TIME, LATE, REJECTED, NOT_YET, MISSING)
STATUS_LABELS = {
    ON_TIME: "Đúng hạn",
    LATE: "Muộn",
    REJECTED: "Không đạt, cần gửi lại",
    NOT_YET: "Chưa nhận (chưa đến hạn)",
    MISSING: "Chưa nộp (quá hạn)",
}
# the receipt outcomes the ledger records (pipeline/store/ledger.py)
_ACCEPTED_OUTCOMES = ("accepted", "accepted_with_warnings")
_WARNED = "accepted_with_warnings"

STATUS_COLUMNS = ["unit_id", "unit_name", "short_name", "kind", "email", "status", "status_label",
                  "with_warnings", "receipt_date", "days_late", "versions", "latest_receipt_date",
                  "latest_outcome", "corrected_after_deadline", "file", "needs_reminder"]
RECEIPT_COLUMNS = ["unit_id", "period", "version", "outcome", "receipt_date", "errors", "warnings", "file"]


# ---------------------------------------------------------------- reading the ledger

def read_receipts(ledger_path: Path, period_codes: list[str] | None = None,
                  province: int | None = None) -> pd.DataFrame:
    """Every judged version of every identified unit (table `submissions`), one row each; with
    `province`, of the files that province received (a ledger may be shared).

    An absent ledger means nothing was received yet. Pending (not yet judged) files and files
    whose unit could not be identified are not a unit's submission.
    """
    frame = judged_versions(ledger_path, period_codes, province)   # a file received after its period's lock does not count
    if len(frame):   # (a list, each distinct time parsed once: most files come in on a few days)
        days: dict[str, dt.date] = {}
        frame["receipt_date"] = pd.Series(
            [days[s] if s in days else days.setdefault(s, dt.date.fromisoformat(str(s)[:10]))
             for s in frame["receipt_date"].tolist()], index=frame.index, dtype=object)
    return frame[RECEIPT_COLUMNS]


def unidentified_files(ledger_path: Path, period_code: str, as_of: dt.date, province: int | None = None) -> list[str]:
    """Files received for the period by `as_of` whose unit could not be identified: a unit listed as
    missing may have sent one of them (their findings are in outputs/<period>/kiem-tra.xlsx). With
    `province`, only the files that province received (a ledger may be shared)."""
    return unidentified_names(ledger_path, period_code, as_of.isoformat(), province)


def ledger_periods(ledger_path: Path) -> list[str]:
    """The period codes that have at least one file in the ledger."""
    return periods_received(ledger_path)


# ---------------------------------------------------------------- the one computation

def classify(expected: pd.DataFrame, receipts: pd.DataFrame, period: Period, as_of: dt.date) -> pd.DataFrame:
    """The status of each expected unit (registry rows, in order) from its receipts (RECEIPT_COLUMNS
    rows of this period); see the module docstring for the rules. Pure: no disk."""
    deadline = period.deadline
    # each unit's versions received by as_of, (version, outcome, receipt_date, file), in version
    # order: plain tuples (a unit has a version or two; a frame per unit cost more than the rules)
    wanted = set(expected["id"].tolist())   # a ledger shared with other provinces holds other units
    by_unit: dict[str, list[tuple]] = {}
    columns = ("unit_id", "version", "outcome", "receipt_date", "file")
    received = zip(*(receipts[c].tolist() for c in columns)) if len(receipts) else ()
    for unit_id, version, outcome, day, file in received:
        if day <= as_of and unit_id in wanted:
            by_unit.setdefault(unit_id, []).append((version, outcome, day, file))
    rows = []
    for unit_id, name, short_name, kind, email in zip(
            *(expected[c].tolist() for c in ("id", "name", "short_name", "kind", "email"))):
        versions = sorted(by_unit.get(unit_id, ()), key=lambda v: v[0])
        row = {"unit_id": unit_id, "unit_name": name, "short_name": short_name, "kind": kind,
               "email": email, "with_warnings": False, "receipt_date": None, "days_late": None,
               "versions": 0, "latest_receipt_date": None, "latest_outcome": None,
               "corrected_after_deadline": False, "file": None}
        if not versions:
            row["status"] = NOT_YET if as_of <= deadline else MISSING
            if as_of > deadline:
                row["days_late"] = (as_of - deadline).days
        else:
            _, latest_outcome, latest_date, latest_file = versions[-1]
            accepted = [v for v in versions if v[1] in _ACCEPTED_OUTCOMES]
            row.update(versions=len(versions), latest_receipt_date=latest_date,
                       latest_outcome=latest_outcome, file=latest_file)
            if not accepted:
                row["status"] = REJECTED
                row["receipt_date"] = latest_date
                if as_of > deadline:
                    row["days_late"] = (as_of - deadline).days
            else:
                first = min(v[2] for v in accepted)
                row["receipt_date"] = first
                row["with_warnings"] = accepted[-1][1] == _WARNED   # the version consolidation uses
                if first <= deadline:
                    row["status"] = ON_TIME
                    row["corrected_after_deadline"] = any(v[2] > deadline for v in accepted)
                else:
                    row["status"] = LATE
                    row["days_late"] = (first - deadline).days
        row["status_label"] = status_label(row["status"], row["days_late"], row["with_warnings"])
        row["needs_reminder"] = row["status"] in (REJECTED, NOT_YET, MISSING)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    frame["days_late"] = frame["days_late"].astype("Int64")
    frame["versions"] = frame["versions"].astype(int)
    return frame


def status_label(status: str, days_late: int | None = None, with_warnings: bool = False) -> str:
    """The Vietnamese label: `Đúng hạn`, `Muộn 3 ngày`, `Chưa nộp (quá hạn 2 ngày)`, ..."""
    if status == LATE and days_late:
        label = f"Muộn {days_late} ngày"
    elif status == MISSING and days_late:
        label = f"Chưa nộp (quá hạn {days_late} ngày)"
    else:
        label = STATUS_LABELS[status]
    return label + (", có cảnh báo" if with_warnings else "")


def submission_status(project: Project, period: Period, as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per unit expected to report in `period`, in registry order (departments, then
    communes by code), with columns STATUS_COLUMNS:

    unit_id, unit_name, short_name, kind ('department' | 'commune'), email;
    status (ON_TIME | LATE | REJECTED | NOT_YET | MISSING) and status_label (Vietnamese);
    with_warnings (the accepted version has warnings); receipt_date (of the first accepted
    version; of the latest version when rejected); days_late (late: receipt - deadline; missing or
    rejected after the deadline: as_of - deadline); versions (received by as_of);
    latest_receipt_date, latest_outcome, file (of the latest version); corrected_after_deadline;
    needs_reminder (no accepted version: the units the reminder letter addresses).
    """
    settings, registry, matrix = project.settings, project.registry, project.matrix

    as_of = as_of or today(settings)
    expected = expected_units(matrix, registry, period)
    receipts = read_receipts(settings.path("ledger"), [period.code], settings.province_code)
    return classify(expected, receipts, period, as_of)


@dataclass(frozen=True)
class Rates:
    expected: int
    received: int         # units with at least one version received (accepted or not)
    accepted: int         # units with an accepted version (on time + late)
    on_time: int
    late: int
    with_warnings: int
    rejected: int
    not_yet_received: int
    missing: int
    completeness: float   # accepted / expected (0 when nothing is expected)
    timeliness: float     # on time / expected

    def as_dict(self) -> dict:
        return asdict(self)


def rates(status: pd.DataFrame) -> Rates:
    """Completeness and timeliness (DHIS2's reporting rate and reporting rate on time) of a
    `submission_status` frame, or any subset of its rows (e.g. communes only)."""
    counts = Counter(status["status"].tolist())   # (plain lists: the roll-up asks for 70 of these)
    expected = len(status)
    on_time, late = counts[ON_TIME], counts[LATE]
    accepted = on_time + late
    return Rates(
        expected=expected,
        received=sum(1 for versions in status["versions"].tolist() if versions > 0),
        accepted=accepted,
        on_time=on_time,
        late=late,
        with_warnings=sum(1 for warned in status["with_warnings"].tolist() if warned),
        rejected=counts[REJECTED],
        not_yet_received=counts[NOT_YET],
        missing=counts[MISSING],
        completeness=accepted / expected if expected else 0.0,
        timeliness=on_time / expected if expected else 0.0,
    )


KIND_LABELS = {"department": "Sở, ban, ngành", COMMUNE: "Xã, phường"}


def rates_by_kind(status: pd.DataFrame) -> pd.DataFrame:
    """One row per kind of unit present (departments, communes) and a total row `Tổng số`,
    with the Rates fields as columns and `group` the Vietnamese row label."""
    rows = []
    for kind, label in KIND_LABELS.items():
        part = status[status["kind"] == kind]
        if len(part):
            rows.append({"group": label, **rates(part).as_dict()})
    rows.append({"group": "Tổng số", **rates(status).as_dict()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- history over periods

@dataclass(frozen=True)
class History:
    """The reporting-rate summary over periods (DHIS2's units x periods grid).

    `status`: one row per (period, expected unit), STATUS_COLUMNS plus `period`.
    `periods`: the period codes in chronological order. `units`: the units expected in at
    least one of them, in registry order (id, name, short_name, kind). `rates`: one row per
    period with the Rates fields.
    """

    periods: list[str]
    units: pd.DataFrame
    status: pd.DataFrame
    rates: pd.DataFrame

    def grid(self, column: str = "status") -> pd.DataFrame:
        """Units x periods of one status column (NaN where the unit was not expected)."""
        table = self.status.pivot(index="unit_id", columns="period", values=column)
        return table.reindex(index=self.units["id"], columns=self.periods)

    def unit_counts(self) -> pd.DataFrame:
        """Per unit: periods expected, on time, late, rejected, missing (chronic cases stand out)."""
        counts = pd.crosstab(self.status["unit_id"], self.status["status"]).reindex(
            index=self.units["id"], columns=list(STATUSES), fill_value=0)
        counts.insert(0, "expected", counts.sum(axis=1))
        return counts


def submission_history(project: Project, as_of: dt.date | None = None,
                       period_codes: list[str] | None = None) -> History:
    """Every period in the ledger (or `period_codes`), each classified as of `as_of` (default today)."""
    settings, registry, matrix = project.settings, project.registry, project.matrix

    as_of = as_of or today(settings)
    ledger_path = settings.path("ledger")
    codes = period_codes if period_codes is not None else ledger_periods(ledger_path)
    periods = sorted(parse_period(code, settings) for code in set(codes))
    receipts = read_receipts(ledger_path, [p.code for p in periods])
    frames, rate_rows = [], []
    for period in periods:
        status = classify(expected_units(matrix, registry, period), receipts[receipts["period"] == period.code],
                          period, as_of)
        frames.append(status.assign(period=period.code))
        rate_rows.append({"period": period.code, "label": period.label, "deadline": period.deadline,
                          **rates(status).as_dict()})
    status = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*STATUS_COLUMNS, "period"])
    seen = set(status["unit_id"])
    units = registry.units[registry.units["id"].isin(seen)][["id", "name", "short_name", "kind"]]
    return History([p.code for p in periods], units.reset_index(drop=True), status, pd.DataFrame(rate_rows))


# ---------------------------------------------------------------- files that wait

def waiting_files(settings, period: Period) -> list[str]:
    """The files in the period's folder that the ledger does not have yet (never ingested), and
    those a killed run left pending: what a judgement of the period would miss. Names under the
    period folder, in order."""

    folder = submissions_dir(settings, period)
    ledger_path = settings.path("ledger")
    known = received_hashes(ledger_path, period.code, settings.province_code)
    pending = pending_names(ledger_path, period.code, settings.province_code)
    new = []
    for path in discover(folder):
        try:
            if sha256_of(path) not in known:
                new.append(path.relative_to(folder).as_posix())
        except OSError:
            new.append(path.relative_to(folder).as_posix())   # locked by another program: still waiting
    return sorted(set(new) | set(pending))


class FilesWaiting(BaocaoError):
    """New files wait in the period's folder and the command was asked not to ingest them."""


def ingest_waiting(project: Project, period: Period, refuse: bool = False, progress: bool | None = None):
    """What every command that judges a period does first: ingest what is new in the period's
    folder (the same code as `ingest`); with `refuse`, stop (FilesWaiting) while files wait.
    Returns the ingestion's report, or None when nothing waited (the ledger is then only read,
    and may be read-only)."""
    waiting = waiting_files(project.settings, period)
    if refuse and waiting:
        raise FilesWaiting(f"có {len(waiting)} tệp mới trong {submissions_dir(project.settings, period)} chưa được "
                           f"tiếp nhận: chạy python -m pipeline ingest --period {period.code} (hoặc bỏ --no-ingest).")
    if not waiting:
        return None
    [report] = ingest_many([Source(project, period)], progress=progress)
    return report
