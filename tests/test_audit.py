"""The audit's status rules on receipts written by hand (the end-to-end scenario with real
templates and real ingestion is in test_audit_scenario.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from pipeline.audit.status import (LATE, MISSING, NOT_YET, ON_TIME, RECEIPT_COLUMNS, REJECTED, classify, rates,
                            rates_by_kind, status_label)
from pipeline.reference.obligations import expected_units
from pipeline.reference.periods import parse_period

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


# ---------------------------------------------------------------- the letter's rendering

def letter_context_for(settings, period, names, as_of=day(3), contact="Liên hệ: Phòng Nghiệp vụ Y & Dược <SYT>"):
    from pipeline.audit.letter import LetterSettings, letter_context

    addressed = pd.DataFrame({"unit_id": [f"12-X{n}" for n in range(len(names))], "unit_name": names,
                              "kind": ["department"] * len(names), "status": [MISSING] * len(names)})
    letter = dataclasses.replace(LetterSettings.from_settings(settings), contact_text=contact)
    return letter_context(settings, period, addressed, as_of, day(9), letter)


def test_letter_escapes_what_it_is_given(settings, period, tmp_path):
    from docx import Document

    from pipeline.audit.letter import render_letter
    from conftest import PROJECT_ROOT

    names = ["Hội Liên hiệp Phụ nữ & Đoàn <Thanh niên> tỉnh", "Bộ Chỉ huy {{ Bộ đội }} Biên phòng tỉnh"]
    data = render_letter(PROJECT_ROOT / "templates" / "cong-van-don-doc.docx",
                         letter_context_for(settings, period, names), day(3))
    path = tmp_path / "letter.docx"
    path.write_bytes(data)
    text = [p.text for p in Document(path).paragraphs]
    assert f"- {names[0]};" in text and f"- {names[1]}." in text
    assert "Liên hệ: Phòng Nghiệp vụ Y & Dược <SYT>" in text
    assert data == render_letter(PROJECT_ROOT / "templates" / "cong-van-don-doc.docx",
                                 letter_context_for(settings, period, names), day(3))


def test_a_missing_variable_fails_loudly(settings, period):
    from pipeline.audit.letter import render_letter
    from pipeline.common.errors import ConfigError
    from conftest import PROJECT_ROOT

    context = letter_context_for(settings, period, ["Sở Tư pháp"])
    del context["new_deadline_text"]
    with pytest.raises(ConfigError, match="new_deadline_text"):
        render_letter(PROJECT_ROOT / "templates" / "cong-van-don-doc.docx", context, day(3))


@pytest.mark.parametrize("as_of, expected", [
    (dt.date(2026, 6, 22), dt.date(2026, 6, 29)),   # Monday + 5 = Saturday -> Monday
    (dt.date(2026, 6, 23), dt.date(2026, 6, 29)),   # Tuesday + 5 = Sunday -> Monday
    (dt.date(2026, 6, 25), dt.date(2026, 6, 30)),   # Thursday + 5 = Tuesday
])
def test_default_new_deadline_avoids_the_weekend(as_of, expected):
    from pipeline.audit.letter import default_new_deadline

    assert default_new_deadline(as_of, 5) == expected


@pytest.mark.parametrize("day_, text, short", [
    (dt.date(2026, 6, 19), "ngày 19 tháng 6 năm 2026", "19/6/2026"),
    (dt.date(2027, 1, 5), "ngày 05 tháng 01 năm 2027", "05/01/2027"),   # Decree 30: 0 before days < 10, months 1-2
    (dt.date(2026, 12, 1), "ngày 01 tháng 12 năm 2026", "01/12/2026"),
])
def test_dates_the_decree_30_way(day_, text, short):
    from pipeline.common.formatting import date_text, vn_date

    assert (date_text(day_), vn_date(day_)) == (text, short)


def test_the_new_deadline_is_the_original_one_until_it_passes(settings, period):
    from pipeline.audit.legend import AuditError
    from pipeline.audit.letter import LetterSettings, resolve_new_deadline

    letter = LetterSettings.from_settings(settings)
    assert resolve_new_deadline(period, day(-2), day(5), letter) == D
    assert resolve_new_deadline(period, day(2), day(5), letter) == day(5)
    with pytest.raises(AuditError):
        resolve_new_deadline(period, day(2), day(1), letter)


def test_many_communes_are_addressed_on_one_line(registry):
    from pipeline.audit.letter import addressee_lines

    units = registry.units.rename(columns={"name": "unit_name"})
    some = units[units["id"].isin(["12-CA", "12-STP", "03388", "03390", "03405"])]
    assert addressee_lines(some, 6) == ["Công an tỉnh", "Sở Tư pháp", "UBND phường Đoàn Kết", "UBND xã Bình Lư",
                                        "UBND xã Tả Lèng"]
    assert addressee_lines(some, 3) == ["Công an tỉnh", "Sở Tư pháp", "UBND các xã, phường: Đoàn Kết, Bình Lư, Tả Lèng"]
    only_xa = units[units["id"].isin(["03390", "03405", "03394"])]
    assert addressee_lines(only_xa, 2) == ["UBND các xã: Bình Lư, Sin Suối Hồ, Tả Lèng"]
    assert len(addressee_lines(units[units["kind"] == "commune"], 0)) == 38


class _Terminal:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty, no_color, expected", [(True, None, True), (True, "1", False), (False, None, False)])
def test_colour_only_on_a_terminal_without_no_color(monkeypatch, tty, no_color, expected):
    from pipeline.audit.terminal import use_colour

    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert use_colour(_Terminal(tty)) is expected
