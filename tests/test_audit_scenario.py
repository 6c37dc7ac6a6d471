"""The audit end to end: real templates filled as units would, dropped into the period folders with
their receipt dates in the register (so-den.csv), real ingestion into a real SQLite ledger, then the
audit as of days before, on and after the deadline; the reminder letter opened with python-docx
and converted to PDF; the history grid over three periods; a unit added mid-plan.

The scenario, period 2026S1 (deadline 18/6/2026), every other unit on time on 15/6:
  Công an tỉnh        on time, with a warning (a number typed as "12 người")
  Sở Tư pháp          on the deadline day
  Xã Tả Lèng          late, 21/6
  Phường Đoàn Kết     never sends
  Xã Bình Lư          rejected on 16/6 (a negative number), fixed by a second version on 20/6
  Xã Sin Suối Hồ      accepted on 16/6, re-sends a correction on 22/6
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document

from pipeline.audit.status import (LATE, MISSING, NOT_YET, ON_TIME, REJECTED, rates, submission_history,
                            submission_status)
from pipeline.audit.letter import LetterSettings, letter_addressees
from pipeline.audit.terminal import status_lines, history_lines
from pipeline.reference.catalogue import load_catalogue
from pipeline.cli.main import cli
from pipeline.reference.settings import load_settings
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.intake.register import Receipt, append_receipts
from pipeline.reference.units import load_registry

from conftest import PROJECT_ROOT, copy_project_data, soffice_convert
from filling import Kit

POLICE, JUSTICE = "12-CA", "12-STP"
TA_LENG, DOAN_KET, BINH_LU, SIN_SUOI_HO = "03405", "03388", "03390", "03394"
HEALTH = "12-SYT"                      # the standing unit: it reports, but is not sent a letter
BORDER_GUARD = "12-BDBP"               # added to the registry from the annual report 2026
ICT = dt.timezone(dt.timedelta(hours=7))


def d(day: int, month: int = 6, year: int = 2026) -> dt.date:
    return dt.date(year, month, day)


def send(kit: Kit, unit_id: str, received: dt.date, name: str, values: dict | None = None) -> None:
    """A unit's filled template dropped into the period folder, entered in the register."""
    spec, wb = kit.filled(unit_id, values=values)
    kit.save(wb, name)
    append_receipts(kit.folder, [Receipt(name, unit_id, received)])


def ingest_on(kit: Kit, day: dt.date) -> None:
    kit.ingest(now=dt.datetime.combine(day, dt.time(17, 0), tzinfo=ICT), progress=False)


def first_code(kit: Kit, unit_id: str) -> str:
    return kit.spec(unit_id).indicators[0]["code"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Kit:
    root = copy_project_data(tmp_path_factory.mktemp("audit") / "project")
    with (root / "inputs" / "departments.csv").open("a", encoding="utf-8") as handle:
        handle.write(f"{BORDER_GUARD},Bộ Chỉ huy Bộ đội Biên phòng tỉnh,BĐBP tỉnh,BĐBP,2026,,,\n")
    settings = load_settings(root)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    catalogue = load_catalogue(settings, matrix, registry)
    kit = Kit(root, settings, registry, matrix, catalogue, parse_period("2026S1", settings))
    everyone = [u for u in registry.ids if u not in (DOAN_KET, BORDER_GUARD)]

    # 2026S1: files that came before the deadline, ingested the evening they came
    for unit in everyone:
        if unit not in (JUSTICE, TA_LENG, BINH_LU, SIN_SUOI_HO):
            values = {first_code(kit, unit): "12 người"} if unit == POLICE else None
            send(kit, unit, d(15), f"{unit}.xlsx", values)
    send(kit, BINH_LU, d(16), "binh-lu.xlsx", {first_code(kit, BINH_LU): -5})
    send(kit, SIN_SUOI_HO, d(16), "sin-suoi-ho.xlsx")
    ingest_on(kit, d(16))
    send(kit, JUSTICE, d(18), "tu-phap.xlsx")
    ingest_on(kit, d(18))
    # after it
    send(kit, BINH_LU, d(20), "binh-lu (sửa).xlsx")
    send(kit, TA_LENG, d(21), "ta-leng.xlsx")
    send(kit, SIN_SUOI_HO, d(22), "sin-suoi-ho bổ sung.xlsx", {first_code(kit, SIN_SUOI_HO): 99})
    ingest_on(kit, d(22))

    # 2026 (deadline 18/12/2026): everyone but Tả Lèng, the border guard among them; Sở Nội vụ late
    annual = dataclasses.replace(kit, period=parse_period("2026", settings))
    for unit in [u for u in registry.ids if u != TA_LENG]:
        send(annual, unit, d(20, 12) if unit == "12-SNV" else d(15, 12), f"{unit}.xlsx")
    ingest_on(annual, d(20, 12))
    # 2027S1: only the departments; Đoàn Kết again nothing
    first_2027 = dataclasses.replace(kit, period=parse_period("2027S1", settings))
    for unit in registry.departments()["id"]:
        send(first_2027, unit, d(10, 6, 2027), f"{unit}.xlsx")
    ingest_on(first_2027, d(10, 6, 2027))
    return kit


def status_of(kit: Kit, as_of: dt.date, period: str = "2026S1") -> pd.DataFrame:
    return submission_status(kit.project, parse_period(period, kit.settings),
                             as_of).set_index("unit_id")


# ---------------------------------------------------------------- before, on and after the deadline

@pytest.mark.parametrize("as_of, expected", [
    (d(17), {POLICE: ON_TIME, JUSTICE: NOT_YET, TA_LENG: NOT_YET, DOAN_KET: NOT_YET, BINH_LU: REJECTED,
             SIN_SUOI_HO: ON_TIME, HEALTH: ON_TIME}),
    (d(18), {POLICE: ON_TIME, JUSTICE: ON_TIME, TA_LENG: NOT_YET, DOAN_KET: NOT_YET, BINH_LU: REJECTED,
             SIN_SUOI_HO: ON_TIME, HEALTH: ON_TIME}),
    (d(19), {POLICE: ON_TIME, JUSTICE: ON_TIME, TA_LENG: MISSING, DOAN_KET: MISSING, BINH_LU: REJECTED,
             SIN_SUOI_HO: ON_TIME, HEALTH: ON_TIME}),
    (d(25), {POLICE: ON_TIME, JUSTICE: ON_TIME, TA_LENG: LATE, DOAN_KET: MISSING, BINH_LU: LATE,
             SIN_SUOI_HO: ON_TIME, HEALTH: ON_TIME}),
])
def test_each_unit_classified_before_on_and_after_the_deadline(scenario, as_of, expected):
    status = status_of(scenario, as_of)
    assert status.loc[list(expected), "status"].to_dict() == expected
    others = status.drop(index=list(expected))
    assert set(others["status"]) == {ON_TIME}
    assert BORDER_GUARD not in status.index          # added from 2026: not expected in 2026S1


def test_details_after_the_deadline(scenario):
    status = status_of(scenario, d(25))
    assert status.loc[TA_LENG, ["days_late", "receipt_date", "status_label"]].tolist() == [3, d(21), "Muộn 3 ngày"]
    assert status.loc[DOAN_KET, ["days_late", "versions", "status_label"]].tolist() == [
        7, 0, "Chưa nộp (quá hạn 7 ngày)"]
    # rejected then fixed: late by the fixed version's receipt, two versions
    assert status.loc[BINH_LU, ["days_late", "versions", "receipt_date"]].tolist() == [2, 2, d(20)]
    # a correction after the deadline keeps the first completion date (DHIS2)
    sin = status.loc[SIN_SUOI_HO]
    assert (sin["receipt_date"], sin["latest_receipt_date"], sin["versions"]) == (d(16), d(22), 2)
    assert sin["corrected_after_deadline"] and pd.isna(sin["days_late"])
    assert status.loc[POLICE, "with_warnings"] and status.loc[POLICE, "status_label"] == "Đúng hạn, có cảnh báo"
    assert status.loc[JUSTICE, "receipt_date"] == d(18)


def test_rates_before_and_after(scenario):
    before, after = rates(status_of(scenario, d(17)).reset_index()), rates(status_of(scenario, d(25)).reset_index())
    assert before.expected == after.expected == 46
    assert (before.accepted, before.on_time, before.rejected, before.not_yet_received) == (42, 42, 1, 3)
    assert (after.accepted, after.on_time, after.late, after.missing) == (45, 43, 2, 1)
    assert after.completeness == pytest.approx(45 / 46) and after.timeliness == pytest.approx(43 / 46)


# ---------------------------------------------------------------- the command, its files and the letter

def run_audit(kit: Kit, *args: str):
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "audit", *args])
    assert result.exit_code == 0, result.output
    return result


def letter_text(path) -> tuple[list[str], str]:
    """The addressee lines after "Kính gửi:" and the whole text of the letter."""
    doc = Document(path)
    paragraphs = [p.text for p in doc.paragraphs]
    start = next(n for n, t in enumerate(paragraphs) if t.startswith("Kính gửi:"))
    lines = []
    for text in paragraphs[start + 1:]:
        if not text.startswith("- "):
            break
        lines.append(text)
    cells = [p.text for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs]
    return lines, "\n".join([*cells, *paragraphs])


def test_letter_after_the_deadline_addresses_exactly_the_missing_and_rejected(scenario):
    result = run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-19", "--new-deadline", "2026-06-26")
    folder = scenario.settings.path("outputs") / "2026S1"
    lines, text = letter_text(folder / "cong-van-don-doc-2026S1.docx")
    assert lines == ["- UBND phường Đoàn Kết;", "- UBND xã Bình Lư;", "- UBND xã Tả Lèng."]
    for phrase in ("SỞ Y TẾ", "UBND TỈNH LAI CHÂU", "Số: …/SYT-NVY", "Lai Châu, ngày 19 tháng 6 năm 2026",
                   "6 tháng đầu năm 2026", "chậm nhất ngày 18/6/2026", "chậm nhất ngày 26/6/2026",
                   "ngày 15/12/2025 đến ngày 14/6/2026", "chưa gửi báo cáo hoặc báo cáo đã gửi chưa đạt yêu cầu",
                   "- Lưu: VT, NVY."):
        assert phrase in text, phrase
    assert "{{" not in text and "{%" not in text
    assert "Gửi tới: Đoàn Kết, Bình Lư, Tả Lèng" in result.output
    assert 'UNITS="03388 03390 03405"' in result.output


def test_letter_before_the_deadline_reminds_of_the_original_deadline(scenario):
    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-17")
    lines, text = letter_text(scenario.settings.path("outputs") / "2026S1" / "cong-van-don-doc-2026S1.docx")
    assert lines == ["- Sở Tư pháp;", "- UBND phường Đoàn Kết;", "- UBND xã Bình Lư;", "- UBND xã Tả Lèng."]
    assert "thời hạn gửi báo cáo sắp hết" in text and "đúng thời hạn, chậm nhất ngày 18/6/2026" in text
    assert "đã quá thời hạn" not in text


def test_a_single_addressee_stands_on_the_kinh_gui_line(scenario):
    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-25")
    doc = Document(scenario.settings.path("outputs") / "2026S1" / "cong-van-don-doc-2026S1.docx")
    texts = [p.text for p in doc.paragraphs]
    assert "Kính gửi: UBND phường Đoàn Kết." in texts
    body = "\n".join(texts)
    assert "chưa gửi báo cáo." in body and "chưa đạt yêu cầu" not in body
    assert "chậm nhất ngày 30/6/2026" in body   # 25/6 + 5 days, a Tuesday


def test_letter_converts_to_pdf_with_the_same_text(scenario, tmp_path):
    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-19", "--new-deadline", "2026-06-26")
    pdf = soffice_convert(scenario.settings.path("outputs") / "2026S1" / "cong-van-don-doc-2026S1.docx", "pdf",
                          tmp_path / "pdf")
    import subprocess

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    for phrase in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "Kính gửi:",
                   "- UBND phường Đoàn Kết;", "- UBND xã Bình Lư;", "- UBND xã Tả Lèng.", "chậm nhất ngày 26/6/2026",
                   "Nơi nhận:"):
        assert phrase in flat, phrase
    assert "Sin Suối Hồ" not in flat and "Công an tỉnh" not in flat


def test_outputs_are_reproducible_and_the_csv_fits_a_mail_merge(scenario):
    folder = scenario.settings.path("outputs") / "2026S1"
    names = ("tinh-hinh-nop-bao-cao.xlsx", "tinh-hinh-nop-bao-cao.csv", "cong-van-don-doc-2026S1.docx")
    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-19")
    first = {n: (folder / n).read_bytes() for n in names}
    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-19")
    assert {n: (folder / n).read_bytes() for n in names} == first
    frame = pd.read_csv(folder / "tinh-hinh-nop-bao-cao.csv", dtype=str, encoding="utf-8-sig").fillna("")
    assert len(frame) == 46
    rows = frame.set_index("Mã đơn vị")
    assert rows.loc[TA_LENG, ["Mã tình trạng", "Tình trạng", "Số ngày muộn", "Gửi công văn đôn đốc"]].tolist() == [
        "missing", "Chưa nộp (quá hạn 1 ngày)", "1", "có"]
    assert rows.loc[HEALTH, "Gửi công văn đôn đốc"] == "không"
    assert set(frame.columns) >= {"Tên đơn vị", "Email", "Ngày nhận", "Hạn nộp mới"}


def test_status_workbook(scenario):
    import openpyxl

    run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-25")
    wb = openpyxl.load_workbook(scenario.settings.path("outputs") / "2026S1" / "tinh-hinh-nop-bao-cao.xlsx")
    ws = wb["Tình hình nộp"]
    header = [c.value for c in ws[5]]
    assert header[:6] == ["STT", "Mã đơn vị", "Tên đơn vị", "Loại", "Tình trạng", "Ngày nhận"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=6, values_only=True)}
    assert len(rows) == 46
    assert rows[TA_LENG][4:8] == ("Muộn 3 ngày", dt.datetime(2026, 6, 21), 3, 1)
    assert "bản sửa" in rows[SIN_SUOI_HO][10]
    assert "97,8%" in ws["A3"].value       # completeness 45/46
    totals = {r[0]: r for r in wb["Tỷ lệ"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert totals["Tổng số"][1:5] == (46, 45, 45, 43)
    assert totals["Tổng số"][8] == pytest.approx(45 / 46)


def test_terminal_table_coloured_only_when_asked(scenario):
    period = parse_period("2026S1", scenario.settings)
    status = status_of(scenario, d(25)).reset_index()
    plain = status_lines(period, status, d(25), colour=False)
    coloured = status_lines(period, status, d(25), colour=True)
    assert not any("\x1b[" in line for line in plain)
    assert any("\x1b[" in line and "Chưa nộp" in line for line in coloured)
    assert any("Tỷ lệ đầy đủ 97,8% (45/46)" in line for line in plain)
    # the CLI under CliRunner is not a terminal: no escape codes
    assert "\x1b[" not in run_audit(scenario, "--period", "2026S1", "--as-of", "2026-06-25").output


def test_no_letter_when_every_unit_reported(scenario, tmp_path):
    status = status_of(scenario, d(25)).reset_index()
    everyone_in = status[status["unit_id"] != DOAN_KET]
    assert letter_addressees(everyone_in, LetterSettings.from_settings(scenario.settings)).empty
    # the standing unit itself is never addressed unless the officer asks
    missing_health = status.assign(needs_reminder=status["unit_id"] == HEALTH)
    assert letter_addressees(missing_health, LetterSettings.from_settings(scenario.settings)).empty


def test_a_new_deadline_before_the_audit_day_is_refused(scenario):
    result = CliRunner().invoke(cli, ["--root", str(scenario.root), "audit", "--period", "2026S1",
                                      "--as-of", "2026-06-25", "--new-deadline", "2026-06-20"])
    assert result.exit_code == 2
    assert "Hạn nộp mới 20/06/2026 phải sau ngày kiểm tra 25/06/2026" in result.output


def test_audit_needs_a_period_or_history(scenario):
    result = CliRunner().invoke(cli, ["--root", str(scenario.root), "audit"])
    assert result.exit_code == 2 and "--period" in result.output


# ---------------------------------------------------------------- history and the unit added mid-plan

def test_history_grid_over_three_periods(scenario):
    history = submission_history(scenario.project, d(1, 7, 2027))
    assert history.periods == ["2026S1", "2026", "2027S1"]
    grid = history.grid()
    assert grid.loc[TA_LENG].tolist() == [LATE, MISSING, MISSING]
    assert grid.loc[DOAN_KET].tolist() == [MISSING, ON_TIME, MISSING]
    assert grid.loc["12-SNV"].tolist() == [ON_TIME, LATE, ON_TIME]
    assert grid.loc[POLICE].tolist() == [ON_TIME, ON_TIME, ON_TIME]
    # the unit added from the annual report 2026 is expected only from then
    assert pd.isna(grid.loc[BORDER_GUARD, "2026S1"])
    assert grid.loc[BORDER_GUARD, ["2026", "2027S1"]].tolist() == [ON_TIME, ON_TIME]
    assert history.rates["expected"].tolist() == [46, 47, 47]
    counts = history.unit_counts()
    assert counts.loc[TA_LENG, ["expected", LATE, MISSING]].tolist() == [3, 1, 2]
    lines = history_lines(history, colour=False)
    row = next(line for line in lines if line.startswith(TA_LENG)).split()
    assert row[-5:] == ["+3", "✗", "✗", "1", "2"]
    guard = next(line for line in lines if line.startswith(BORDER_GUARD)).split()
    assert guard[-5:] == ["·", "✓", "✓", "0", "0"]


def test_history_command_writes_a_self_contained_page(scenario):
    result = run_audit(scenario, "--history", "--as-of", "2027-07-01")
    assert "2026S1" in result.output and "2027S1" in result.output and "Tỷ lệ đầy đủ" in result.output
    page = (scenario.settings.path("outputs") / "lich-su-nop-bao-cao.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "Xã Tả Lèng" in page and "Bộ Chỉ huy Bộ đội Biên phòng tỉnh" in page
    assert page.count('class="c s-missing"') >= 4


def test_audit_command_is_documented():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m pipeline audit --period" in readme and "make audit PERIOD=" in readme
    assert "make audit-history" in readme and "## Audit" in readme
    result = CliRunner().invoke(cli, ["audit", "--help"])
    assert result.exit_code == 0 and "Ví dụ: python -m pipeline audit" in result.output


def test_a_file_no_unit_could_be_identified_is_pointed_out(tmp_path):
    """A stranger's spreadsheet in the folder: the audit says a 'missing' unit may have sent it."""
    import openpyxl

    root = tmp_path / "project"
    for folder in ("inputs", "schemas", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "*.py",
                                                                                             "submissions"))
    settings = load_settings(root)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    kit = Kit(root, settings, registry, matrix, load_catalogue(settings, matrix, registry),
              parse_period("2026S1", settings))
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Báo cáo"
    kit.save(wb, "bao-cao.xlsx")
    append_receipts(kit.folder, [Receipt("bao-cao.xlsx", "", d(17))])
    ingest_on(kit, d(17))
    result = run_audit(kit, "--period", "2026S1", "--as-of", "2026-06-19")
    assert "Có 1 tệp không xác định được đơn vị gửi (bao-cao.xlsx)" in result.output
    assert "tệp không xác định" not in run_audit(kit, "--period", "2026S1", "--as-of", "2026-06-16").output
