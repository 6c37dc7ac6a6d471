"""The period lock (issue 16, point 3), end to end through the commands: a report issued, the period
locked, a late file arrives and is ingested, the rebuilt report is byte-identical, the audit lists
the late file, unlock with a reason brings it in; an agreed exception counts."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from click.testing import CliRunner

from pipeline.common import clock
from pipeline.audit.status import LATE, MISSING, submission_status
from pipeline.cli.main import cli
from pipeline.report.consolidate import read_ledger

from filling import Kit

ICT = dt.timezone(dt.timedelta(hours=7))
EARLY = ("12-SYT", "12-CA", "03405")      # on time
LATE_UNIT, EXCEPTED, REFUSED = "03388", "03390", "03394"
REPORTS = ("bao-cao-6-thang-dau-nam-2026.docx", "tong-hop-2026S1.xlsx", "bao-cao-6-thang-dau-nam-2026.html")


def on(monkeypatch, day: int, month: int = 6) -> None:
    """The province's clock reads this day (10:00 in Lai Châu)."""
    monkeypatch.setattr(clock, "_utc_now", lambda: dt.datetime(2026, month, day, 10, 0, tzinfo=ICT))


def run(kit: Kit, *args: str, ok: bool = True):
    result = CliRunner().invoke(cli, ["--root", str(kit.root), *args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def send(kit: Kit, unit_id: str) -> None:
    _spec, wb = kit.filled(unit_id)
    kit.save(wb, f"{unit_id}.xlsx")


def reports(kit: Kit) -> dict[str, bytes]:
    folder = kit.settings.path("outputs") / "2026S1"
    return {name: (folder / name).read_bytes() for name in REPORTS}


def status(kit: Kit, unit_id: str, as_of=dt.date(2026, 7, 30)) -> str:
    return submission_status(kit.project, kit.period, as_of).set_index(
        "unit_id").at[unit_id, "status"]


def values_of(kit: Kit, unit_id: str):
    data = read_ledger(kit.settings.path("ledger"), ["2026S1"])
    return data.values[data.values["unit_id"] == unit_id]


@pytest.fixture
def issued(project, monkeypatch) -> Kit:
    """2026S1 reported on 20/6 from three units' files (a forced draft: 3 of 46), then locked."""
    kit = Kit.load(project)
    for unit in EARLY:
        send(kit, unit)
    on(monkeypatch, 16)
    run(kit, "ingest", "--period", "2026S1", "--no-progress")
    on(monkeypatch, 20)
    run(kit, "semiannual", "--period", "2026S1", "--force")
    on(monkeypatch, 22)
    result = run(kit, "lock", "--period", "2026S1")
    assert "Đã khoá kỳ" in result.output and "20/06/2026" in result.output
    return kit


def test_a_locked_period_keeps_its_issued_report_until_unlocked(issued, monkeypatch):
    kit = issued
    before = reports(kit)
    with sqlite3.connect(kit.settings.path("ledger")) as db:
        hashes = dict(db.execute("SELECT name, sha256 FROM lock_files").fetchall())
    assert set(hashes) == set(REPORTS)

    on(monkeypatch, 25)
    send(kit, LATE_UNIT)
    rebuilt = run(kit, "semiannual", "--period", "2026S1", "--force")   # ingests the late file first
    assert "1 tệp mới" in rebuilt.output
    assert "Trùng khớp từng byte với bản đã phát hành." in rebuilt.output
    assert reports(kit) == before
    assert values_of(kit, LATE_UNIT).empty and status(kit, LATE_UNIT) == MISSING

    audit = run(kit, "audit", "--period", "2026S1", "--as-of", "2026-06-26")
    assert "1 tệp nhận sau khi khoá" in audit.output
    line = next(line for line in audit.output.splitlines() if f"{LATE_UNIT}.xlsx" in line)
    assert "Phường Đoàn Kết" in line and "25/06/2026" in line and line.rstrip().endswith("không")
    import pandas as pd

    mail_merge = pd.read_csv(kit.settings.path("outputs") / "2026S1" / "tinh-hinh-nop-bao-cao.csv", dtype=str,
                             encoding="utf-8-sig").set_index("Mã đơn vị")
    assert mail_merge.at[LATE_UNIT, "Gửi công văn đôn đốc"] == "không"      # it sent: no reminder
    assert mail_merge.at["03394", "Gửi công văn đôn đốc"] == "có"           # a unit that sent nothing
    history = run(kit, "history", "--period", "2026S1", "--unit", LATE_UNIT)
    assert "nhận sau khi khoá kỳ" in history.output

    refused = run(kit, "unlock", "--period", "2026S1", "--ly-do", "  ", ok=False)
    assert refused.exit_code == 2 and "lý do" in refused.output
    again = run(kit, "lock", "--period", "2026S1", ok=False)
    assert again.exit_code == 2 and "đã khoá" in again.output

    on(monkeypatch, 28)
    reason = "UBND tỉnh yêu cầu bổ sung số liệu của phường Đoàn Kết"
    opened = run(kit, "unlock", "--period", "2026S1", "--ly-do", reason)
    assert "1 tệp nhận sau khi khoá nay được tính" in opened.output
    assert not values_of(kit, LATE_UNIT).empty and status(kit, LATE_UNIT) == LATE
    with sqlite3.connect(kit.settings.path("ledger")) as db:
        events = db.execute("SELECT event, substr(at, 1, 10), detail FROM lock_events ORDER BY id").fetchall()
    assert [e[:2] for e in events] == [("lock", "2026-06-22"), ("unlock", "2026-06-28")] and events[1][2] == reason
    run(kit, "semiannual", "--period", "2026S1", "--force")
    assert reports(kit) != before


def test_an_agreed_exception_counts_and_no_other_late_file_does(issued, monkeypatch):
    kit = issued
    before = reports(kit)
    run(kit, "lock", "--period", "2026S1", "--cho-phep", EXCEPTED)
    on(monkeypatch, 26)
    send(kit, EXCEPTED)
    send(kit, REFUSED)
    result = run(kit, "semiannual", "--period", "2026S1", "--force")
    assert "2 tệp mới" in result.output and EXCEPTED in result.output
    assert not values_of(kit, EXCEPTED).empty and values_of(kit, REFUSED).empty
    assert status(kit, EXCEPTED) == LATE and status(kit, REFUSED) == MISSING
    assert reports(kit) != before and "Khác bản đã phát hành" in result.output
    audit = run(kit, "audit", "--period", "2026S1")
    assert "2 tệp nhận sau khi khoá" in audit.output and "có (được chấp thuận)" in audit.output


def test_locking_needs_a_built_report(project):
    kit = Kit.load(project)
    result = run(kit, "lock", "--period", "2026S1", ok=False)
    assert result.exit_code == 2 and "python -m pipeline semiannual --period 2026S1" in result.output


def test_the_annual_report_says_its_first_half_is_locked(issued, monkeypatch):
    kit = issued
    on(monkeypatch, 20, 12)
    run(kit, "annual", "--year", "2026", "--force")
    html = (kit.settings.path("outputs") / "2026" / "bao-cao-nam-2026.html").read_text(encoding="utf-8")
    assert ("Số liệu 6 tháng đầu năm 2026 lấy từ kỳ 2026S1 đã khoá ngày 22/06/2026 (báo cáo đã phát hành, số liệu "
            "tính đến ngày 20/06/2026)") in html
    run(kit, "unlock", "--period", "2026S1", "--ly-do", "Bổ sung số liệu")
    run(kit, "annual", "--year", "2026", "--force")
    html = (kit.settings.path("outputs") / "2026" / "bao-cao-nam-2026.html").read_text(encoding="utf-8")
    assert "đã khoá ngày" not in html


def test_relocking_without_a_rebuild_keeps_the_late_file_out(issued, monkeypatch):
    kit = issued
    before = reports(kit)
    on(monkeypatch, 25)
    send(kit, LATE_UNIT)
    run(kit, "semiannual", "--period", "2026S1", "--force")          # a rebuild while locked: the issued files again
    run(kit, "unlock", "--period", "2026S1", "--ly-do", "Nhầm")
    run(kit, "lock", "--period", "2026S1")                # locked again on the issued report
    assert values_of(kit, LATE_UNIT).empty
    result = run(kit, "semiannual", "--period", "2026S1", "--force")
    assert "Trùng khớp từng byte" in result.output and reports(kit) == before


def test_a_report_edited_before_signing_still_rebuilds_as_issued(project, monkeypatch):
    """The officer edits the Word report before it is signed, then locks: the rebuild (written
    beside the edited file as -ban-2) is the program's bytes of the issue, not 'different'."""
    from docx import Document

    kit = Kit.load(project)
    for unit in EARLY:
        send(kit, unit)
    on(monkeypatch, 20)
    run(kit, "semiannual", "--period", "2026S1", "--force")
    word = kit.settings.path("outputs") / "2026S1" / REPORTS[0]
    document = Document(str(word))
    document.add_paragraph("Ý kiến chỉ đạo của Giám đốc Sở.")
    document.save(str(word))
    edited = word.read_bytes()
    on(monkeypatch, 22)
    locked = run(kit, "lock", "--period", "2026S1")
    assert REPORTS[0] in locked.output   # named as edited after it was built
    on(monkeypatch, 25)
    rebuilt = run(kit, "semiannual", "--period", "2026S1", "--force")
    assert "Trùng khớp từng byte với bản đã phát hành." in rebuilt.output, rebuilt.output
    assert word.read_bytes() == edited
    assert (word.parent / "bao-cao-6-thang-dau-nam-2026-ban-2.docx").is_file()
