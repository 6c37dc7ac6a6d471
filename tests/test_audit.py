"""The audit's status rules on receipts written by hand (the end-to-end scenario with real
templates and real ingestion is in test_audit_scenario.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.audit import (LATE, MISSING, NOT_YET, ON_TIME, RECEIPT_COLUMNS, REJECTED, classify, rates,
                            rates_by_kind, status_label)
from pipeline.obligations import expected_units
from pipeline.periods import parse_period

ACC, WARN, REJ = "accepted", "accepted_with_warnings", "rejected"
D = dt.date(2026, 6, 18)  # the default deadline of 2026S1: cut-off 14 June + 4 days


def day(offset: int) -> dt.date:
    """A day relative to the deadline: day(0) is the deadline, day(-1) the day before."""
    return D + dt.timedelta(days=offset)


@pytest.fixture(scope="module")
def period(settings):
    period = parse_period("2026S1", settings)
    assert period.deadline == D
    return period


@pytest.fixture(scope="module")
def one_unit(registry, matrix, period):
    return expected_units(matrix, registry, period).query("id == '03405'")


def receipts(*versions) -> pd.DataFrame:
    """(outcome, receipt day offset) per version, in the order received."""
    return pd.DataFrame([{"unit_id": "03405", "period": "2026S1", "version": n, "outcome": outcome,
                          "receipt_date": day(offset), "errors": int(outcome == REJ), "warnings": int(outcome == WARN),
                          "file": f"v{n}.xlsx"} for n, (outcome, offset) in enumerate(versions, start=1)],
                        columns=RECEIPT_COLUMNS)


@pytest.mark.parametrize("versions, as_of, status, days_late, label", [
    ((), -3, NOT_YET, None, "Chưa nhận (chưa đến hạn)"),
    ((), 0, NOT_YET, None, "Chưa nhận (chưa đến hạn)"),
    ((), 2, MISSING, 2, "Chưa nộp (quá hạn 2 ngày)"),
    (((ACC, -2),), 5, ON_TIME, None, "Đúng hạn"),
    (((ACC, 0),), 0, ON_TIME, None, "Đúng hạn"),             # on the deadline is on time
    (((WARN, -1),), 0, ON_TIME, None, "Đúng hạn, có cảnh báo"),
    (((ACC, 3),), 5, LATE, 3, "Muộn 3 ngày"),
    (((ACC, 3),), 2, MISSING, 2, "Chưa nộp (quá hạn 2 ngày)"),  # as of day 2 the file had not come
    (((REJ, -2),), -1, REJECTED, None, "Không đạt, cần gửi lại"),
    (((REJ, -2),), 4, REJECTED, 4, "Không đạt, cần gửi lại"),
    (((REJ, -2), (ACC, -1)), 0, ON_TIME, None, "Đúng hạn"),    # fixed before the deadline
    (((REJ, -2), (ACC, 2)), 5, LATE, 2, "Muộn 2 ngày"),       # a rejected file does not stop the clock
    (((ACC, -2), (WARN, 4)), 5, ON_TIME, None, "Đúng hạn, có cảnh báo"),  # correction after: still on time
    (((ACC, -2), (REJ, 4)), 5, ON_TIME, None, "Đúng hạn"),    # a rejected correction keeps the accepted one
])
def test_classify(one_unit, period, versions, as_of, status, days_late, label):
    row = classify(one_unit, receipts(*versions), period, day(as_of)).iloc[0]
    assert row["status"] == status
    assert (None if pd.isna(row["days_late"]) else row["days_late"]) == days_late
    assert row["status_label"] == label
    assert row["needs_reminder"] == (status in (REJECTED, NOT_YET, MISSING))


def test_correction_after_the_deadline_is_flagged_and_counted_once(one_unit, period):
    row = classify(one_unit, receipts((ACC, -2), (ACC, 4)), period, day(5)).iloc[0]
    assert row["corrected_after_deadline"]
    assert row["receipt_date"] == day(-2)           # the first completion date
    assert row["latest_receipt_date"] == day(4)
    assert row["versions"] == 2 and row["file"] == "v2.xlsx"
    before = classify(one_unit, receipts((ACC, -2), (ACC, 4)), period, day(0)).iloc[0]
    assert not before["corrected_after_deadline"] and before["versions"] == 1


def test_rates_follow_dhis2(registry, matrix, period):
    expected = expected_units(matrix, registry, period).head(5)
    ids = expected["id"].tolist()
    rows = [(ids[0], ACC, -1), (ids[1], WARN, 2), (ids[2], REJ, -1)]  # ids[3], ids[4] send nothing
    frame = pd.DataFrame([{"unit_id": u, "period": "2026S1", "version": 1, "outcome": o, "receipt_date": day(d),
                           "errors": 0, "warnings": 0, "file": "x.xlsx"} for u, o, d in rows], columns=RECEIPT_COLUMNS)
    status = classify(expected, frame, period, day(3))
    r = rates(status)
    assert (r.expected, r.received, r.accepted, r.on_time, r.late, r.rejected, r.missing) == (5, 3, 2, 1, 1, 1, 2)
    assert r.with_warnings == 1
    assert r.completeness == pytest.approx(2 / 5) and r.timeliness == pytest.approx(1 / 5)
    table = rates_by_kind(status)
    assert table["group"].tolist()[-1] == "Tổng số" and table["expected"].tolist()[-1] == 5


def test_rates_of_nothing_expected():
    empty = pd.DataFrame({"status": [], "versions": [], "with_warnings": []})
    assert rates(empty).completeness == 0.0


def test_status_label_without_days():
    assert status_label(LATE, None) == "Muộn"
