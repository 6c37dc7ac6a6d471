"""The summary reports end to end: real templates filled as units would, ingested into a real
ledger, consolidated against the matrix and rendered to Word, Excel and HTML; plus the
consolidation rules on small frames."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
import re
import shutil
import subprocess
import unicodedata
import zipfile
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from docx import Document

from pipeline.forms import layout
from pipeline.reference.catalogue import load_catalogue
from pipeline.cli.main import cli
from pipeline.reference.settings import load_settings
from pipeline.report.consolidate import (DONE, IN_PROGRESS, NO_LEAD_REPORT, NOT_APPLICABLE, NOT_REPORTED, NOT_STARTED,
                                  LedgerData, TASK_REPORT_COLUMNS, VALUE_COLUMNS, consolidate, overall_status)
from pipeline.common.errors import BaocaoError
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.reference.project import Project
from pipeline.report.build import build_reports, render_all
from pipeline.report.model import gather, report_name
from pipeline.report.excel import SHEET_CONTRIBUTIONS, SHEET_GRID, SHEET_INDICATORS, SHEET_PROVENANCE, SHEET_TASKS
from pipeline.reference.units import load_registry
from pipeline.common.formatting import vn_number

from conftest import copy_project_data, soffice_convert
from filling import Kit, fill, row_of, task_row

pytestmark = pytest.mark.slow   # a province ingested, reports written and converted by LibreOffice

COMMUNE = "03405"          # Xã Tả Lèng
SILENT_PARTNER = "12-STP"  # Sở Tư pháp: partner of 1.1 and 1.2, sends nothing
TYPED = 1234               # typed into Tả Lèng's TT02 cell (TT01 would be above its ceiling, 1000)
AS_OF_S1 = dt.date(2026, 6, 25)
AS_OF_YEAR = dt.date(2026, 12, 28)

NFD_PHRASE = unicodedata.normalize("NFD", "Tiếng Việt có dấu: Nguyễn Thị Hoà, xã Tả Lèng")
NASTY = ("Kết quả & <b>không đậm</b> {{ context }} {%p if x %} " + NFD_PHRASE + " ").ljust(5000, "x")
FORMULA = "=SUM(A1:A3)"
AT_TEXT = "@Sở Y tế xem xét hỗ trợ kinh phí"


def _copy_project(root: Path) -> None:
    copy_project_data(root)


def _text(cell, value) -> None:
    """Types text the way a clerk's spreadsheet stores it: as text, even when it starts with '='."""
    cell.value = value
    cell.data_type = "s"


def _kit(root: Path, code: str) -> Kit:
    settings = load_settings(root)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    catalogue = load_catalogue(settings, matrix, registry)
    return Kit(root, settings, registry, matrix, catalogue, parse_period(code, settings))


def _submit_province(kit: Kit, tl_value: int) -> None:
    """Every expected unit's template filled and saved, except the silent partner's; then ingested."""
    from pipeline.forms.templates import build_workbook, template_specs

    for spec in template_specs(kit.project, kit.period):
        if spec.unit_id == SILENT_PARTNER:
            continue
        wb = build_workbook(spec)
        fill(wb, spec, {"TT02": tl_value} if spec.unit_id == COMMUNE else None)
        tasks = wb[layout.SHEET_TASKS]
        if spec.unit_id == "12-SYT":
            _text(tasks[f"F{task_row(spec, '1.1')}"], NASTY)
        if spec.unit_id == COMMUNE:
            _text(tasks[f"I{task_row(spec, '2.1')}"], FORMULA)
            _text(tasks[f"J{task_row(spec, '2.1')}"], AT_TEXT)
        if spec.unit_id in (COMMUNE, "03388"):
            _text(tasks[f"I{task_row(spec, '1.1')}"], "Thiếu kinh phí cho hoạt động tuyên truyền")
        kit.save(wb, spec.file_name)
    report = kit.ingest()
    assert all(j["outcome"] != "rejected" for j in report.judged), [j["findings"] for j in report.judged
                                                                   if j["outcome"] == "rejected"]


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A province where every unit but one partner reported both periods, with reports built."""
    root = tmp_path_factory.mktemp("province") / "project"
    _copy_project(root)
    first = _kit(root, "2026S1")
    _submit_province(first, TYPED)
    year = _kit(root, "2026")
    _submit_province(year, 1000)   # below the first half: a cumulative figure cannot shrink
    outputs = {
        "2026S1": build_reports(first.project, first.period, AS_OF_S1),
        "2026": build_reports(year.project, year.period, AS_OF_YEAR),
    }
    return first, year, outputs


def _body(path: Path) -> str:
    """The paragraphs of the body (no tables), one a line."""
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


# ---------------------------------------------------------------- end to end: figures and who reported

def test_typed_value_reaches_the_total_the_communes_row_and_the_provenance(province):
    first, _, outputs = province
    out = outputs["2026S1"]
    k = out.data.consolidation
    tt01 = k.values[k.values["code"] == "TT02"]
    assert tt01.set_index("unit_id").loc[COMMUNE, "value"] == TYPED
    others = tt01[tt01["unit_id"] != COMMUNE]["value"].sum()
    total = k.indicators.set_index("code").loc["TT02", "total"]
    assert total == TYPED + others and total > TYPED

    wb = openpyxl.load_workbook(out.excel)
    grid = wb[SHEET_GRID]
    header = [c.value for c in grid[1]]
    column = header.index("TT02") + 1
    rows = {grid.cell(row=r, column=2).value: grid.cell(row=r, column=column).value for r in range(2, grid.max_row + 1)}
    assert rows["Xã Tả Lèng"] == TYPED and rows["Toàn tỉnh"] == total
    indicators = wb[SHEET_INDICATORS]
    assert [r for r in indicators.iter_rows(values_only=True) if r[0] == "TT02"][0][5] == total

    spec = first.spec(COMMUNE)
    provenance = [r for r in wb[SHEET_PROVENANCE].iter_rows(values_only=True)
                  if r[1] == "TT02" and r[2] == COMMUNE]
    assert len(provenance) == 1
    what, code, unit_id, unit_name, value, file, sheet, cell, version, received = provenance[0]
    assert (unit_name, value, file, sheet, cell, version) == (
        "Xã Tả Lèng", TYPED, spec.file_name, layout.SHEET_INDICATORS, f"E{row_of(spec, 'TT02')}", 1)
    assert received == dt.datetime(2026, 6, 16)
    # every figure of the by-unit sheet has its provenance row
    figures = sum(1 for r in grid.iter_rows(min_row=2, max_row=grid.max_row - 1, min_col=3, values_only=True)
                  for v in r if isinstance(v, (int, float)))
    indicator_rows = [r for r in wb[SHEET_PROVENANCE].iter_rows(min_row=2, values_only=True) if r[0] == "Chỉ tiêu"]
    assert figures == len(indicator_rows)

    assert "1.234" in _docx_text(out.word)
    assert ">1.234<" in out.html.read_text(encoding="utf-8")


def test_partner_that_did_not_report_shows_under_its_task(province):
    _, _, outputs = province
    out = outputs["2026S1"]
    k = out.data.consolidation
    row = k.contributions[(k.contributions["task_id"] == "1.2") & (k.contributions["unit_id"] == SILENT_PARTNER)]
    assert row["status"].tolist() == [NOT_REPORTED] and not row["reported"].any()
    task = k.tasks.set_index("task_id").loc["1.2"]
    assert "Sở Tư pháp" in task["not_reported"] and task["partners_reported"] == task["partners_owed"] - 1
    assert task["status"] == IN_PROGRESS   # the lead's word decides

    wb = openpyxl.load_workbook(out.excel)
    appendix = {r[0]: r for r in wb[SHEET_TASKS].iter_rows(min_row=2, values_only=True)}
    assert "Sở Tư pháp" in appendix["1.2"][8]
    contributions = [r for r in wb[SHEET_CONTRIBUTIONS].iter_rows(min_row=2, values_only=True)
                     if r[0] == "1.2" and r[1] == SILENT_PARTNER]
    assert contributions[0][4] == NOT_REPORTED

    # who did not report what is per unit: appendix I, not the body
    doc = Document(str(out.word))
    row = [[c.text for c in r.cells] for t in doc.tables for r in t.rows if r.cells[0].text == "1.2"][0]
    assert "Sở Tư pháp" in row[-1]
    body = _body(out.word)
    assert "Sở Tư pháp" not in body.split("Rà soát, tham mưu hoàn thiện văn bản")[1].split("\n")[0]
    html = out.html.read_text(encoding="utf-8")
    assert ">Sở Tư pháp<" in html or "Sở Tư pháp</td>" in html


def test_difficulties_and_proposals_are_gathered_and_attributed(province):
    _, _, outputs = province
    k = outputs["2026S1"].data.consolidation
    shared = k.remarks[k.remarks["text"] == "Thiếu kinh phí cho hoạt động tuyên truyền"]
    assert len(shared) == 1 and set(shared.iloc[0]["units"]) == {"Xã Tả Lèng", "Phường Đoàn Kết"}
    text = _body(outputs["2026S1"].word)
    causes = text[text.index("3. Nguyên nhân"):text.index("IV. PHƯƠNG HƯỚNG")]
    # grouped by theme and counted, never a list of names
    assert "Kinh phí bố trí cho công tác phòng, chống mại dâm còn hạn hẹp (2 xã, phường nêu)." in causes
    assert "Tả Lèng" not in causes
    proposals = text[text.index("V. ĐỀ XUẤT, KIẾN NGHỊ"):]
    assert "Đề nghị UBND tỉnh quan tâm bố trí kinh phí" in proposals   # the Department's own, addressed
    assert AT_TEXT[1:] not in proposals    # a unit asking the Department is the Department's to answer
    wb = openpyxl.load_workbook(outputs["2026S1"].excel)
    assert any(AT_TEXT in str(c) for r in wb["Khó khăn - Kiến nghị"].iter_rows(values_only=True) for c in r)


def test_appendix_three_is_the_audits_computation(province):
    from pipeline.audit.status import rates, submission_status

    first, _, outputs = province
    data = outputs["2026S1"].data
    status = submission_status(first.project, first.period, AS_OF_S1)
    pd.testing.assert_frame_equal(data.status, status)
    assert data.rates == rates(status)
    assert data.rates.expected == 46 and data.rates.accepted == 45
    text = _docx_text(outputs["2026S1"].word)
    assert "45 đơn vị đã gửi báo cáo đạt yêu cầu (tỷ lệ đầy đủ 97,8%)" in text
    assert "Chưa nộp (quá hạn 7 ngày)" in text   # the silent partner, deadline 18/06, as of 25/06


def test_each_group_counts_its_tasks_due_once_a_year(province):
    """A group's tasks done once a year ("Hằng năm") and how many of them are done: in the Excel
    groups sheet and section II's progress line, as the narrative's own count says."""
    from pipeline.reference.periods import TimeframeKind
    from pipeline.report.excel import SHEET_GROUPS

    _first, _, outputs = province
    out = outputs["2026S1"]
    k = out.data.consolidation
    annual = k.tasks[k.tasks["timeframe_kind"] == TimeframeKind.ANNUAL.value]
    assert len(annual) > 0   # (the plan has such tasks: the test means something)
    for g in k.groups.itertuples(index=False):
        mine = annual[annual["group_id"] == g.group_id]
        assert (g.due_once, g.due_once_done) == (len(mine), int((mine["status"] == DONE).sum()))
    sheet = openpyxl.load_workbook(out.excel)[SHEET_GROUPS]
    assert sum(row[7] for row in sheet.iter_rows(min_row=2, values_only=True)) == len(annual)
    g = next(g for g in k.groups.itertuples(index=False) if g.due_once)
    assert f"{g.due_once_done}/{g.due_once} nhiệm vụ thực hiện hằng năm đã hoàn thành" in _docx_text(out.word)


# ---------------------------------------------------------------- the annual report

def test_annual_compares_with_the_first_half_and_flags_a_shrinking_cumulative_figure(province):
    _, _, outputs = province
    out = outputs["2026"]
    k = out.data.consolidation
    comparison = k.comparison.set_index("code")
    s1 = outputs["2026S1"].data.consolidation.indicators.set_index("code")
    year = k.indicators.set_index("code")
    tt01 = comparison.loc["TT02"]
    assert tt01["first_half"] == s1.loc["TT02", "total"] and tt01["annual"] == year.loc["TT02", "total"]
    assert tt01["second_half"] == tt01["annual"] - tt01["first_half"]
    assert math.isnan(comparison.loc["HT01", "second_half"])   # a stock: no second half by subtraction
    assert math.isnan(tt01["previous_year"])                   # no 2025 in the ledger
    finding = k.findings[(k.findings["code"] == "TT02") & (k.findings["unit_id"] == COMMUNE)]
    assert len(finding) == 1 and "1.000" in finding.iloc[0]["message"] and "1.234" in finding.iloc[0]["message"]
    text = _docx_text(out.word)
    assert "So sánh với 6 tháng đầu năm" in text and "6 tháng cuối năm" in text
    # the check is the officer's: in the Excel check sheet, never in the document to be signed
    assert "thấp hơn 6 tháng đầu năm" not in text and "cần kiểm tra" not in text.lower()
    checks = openpyxl.load_workbook(out.excel)["Cần kiểm tra"]
    assert any("thấp hơn 6 tháng đầu năm" in str(r[2]) for r in checks.iter_rows(min_row=2, values_only=True))
    assert out.word.name == "bao-cao-nam-2026.docx" and out.excel.name == "tong-hop-2026.xlsx"
    assert "PL II - So sánh" in openpyxl.load_workbook(out.excel).sheetnames


def _frames(tasks: list[dict], values: list[dict]) -> LedgerData:
    base_t = {c: None for c in TASK_REPORT_COLUMNS}
    base_v = {c: None for c in VALUE_COLUMNS}
    t = pd.DataFrame([{**base_t, "sheet": layout.SHEET_TASKS, "row": 5, "file": "f.xlsx", "version": 1,
                       "receipt_date": "2026-06-16", **r} for r in tasks], columns=TASK_REPORT_COLUMNS)
    v = pd.DataFrame([{**base_v, "raw": "", "note": "", "sheet": layout.SHEET_INDICATORS, "cell": "E5",
                       "file": "f.xlsx", "version": 1, "receipt_date": "2026-06-16", **r} for r in values],
                     columns=VALUE_COLUMNS)
    v["value"] = v["value"].astype(float)
    t["quantity"] = pd.to_numeric(t["quantity"]).astype(float)
    return LedgerData(t, v)


def test_previous_year_and_second_half_from_the_ledger(settings, registry, matrix):
    catalogue = load_catalogue(settings, matrix, registry)
    period = parse_period("2027", settings)
    values = []
    for code_period, tt01, ht01 in (("2026", 100, 7), ("2027S1", 60, 9), ("2027", 150, 8)):
        values += [{"unit_id": COMMUNE, "period": code_period, "code": "TT01", "value": tt01},
                   {"unit_id": COMMUNE, "period": code_period, "code": "HT01", "value": ht01}]
    k = consolidate(matrix, registry, catalogue, period, _frames([], values))
    c = k.comparison.set_index("code")
    assert (c.loc["TT01", "annual"], c.loc["TT01", "first_half"], c.loc["TT01", "second_half"],
            c.loc["TT01", "previous_year"]) == (150, 60, 90, 100)
    assert c.loc["TT01", "change_vs_previous"] == pytest.approx(0.5)
    assert (c.loc["HT01", "annual"], c.loc["HT01", "first_half"]) == (8, 9) and math.isnan(c.loc["HT01", "second_half"])
    assert k.findings.empty   # a stock may fall (8 < 9); the flow grew


def test_a_unit_no_longer_listed_still_counts_in_the_annual_comparison(settings, registry, matrix):
    """A department removed from departments.csv after the first half (a merger) reported that
    half: the first half's province figure is what was reported, its figures included."""
    catalogue = load_catalogue(settings, matrix, registry)
    period = parse_period("2027", settings)
    values = [{"unit_id": COMMUNE, "period": p, "code": "TT01", "value": v} for p, v in
              (("2026", 100), ("2027S1", 60), ("2027", 150))]
    values += [{"unit_id": "12-OLD", "period": "2027S1", "code": "TT01", "value": 5}]
    k = consolidate(matrix, registry, catalogue, period, _frames([], values))
    assert k.comparison.set_index("code").loc["TT01", "first_half"] == 65


@pytest.mark.parametrize("statuses, owed, expected", [
    ([], 1, NO_LEAD_REPORT),
    ([None], 1, NO_LEAD_REPORT),
    ([DONE], 1, DONE),
    ([DONE, None], 2, IN_PROGRESS),           # a lead that has not reported keeps the task open
    ([DONE, IN_PROGRESS], 2, IN_PROGRESS),
    ([NOT_STARTED, IN_PROGRESS], 2, IN_PROGRESS),
    ([NOT_APPLICABLE, NOT_APPLICABLE], 2, NOT_APPLICABLE),
    ([NOT_APPLICABLE, NOT_STARTED], 2, NOT_STARTED),
    ([NOT_STARTED], 1, NOT_STARTED),
])
def test_overall_status_follows_the_leads(statuses, owed, expected):
    assert overall_status(statuses, owed) == expected


@pytest.mark.parametrize("value, decimal, text", [
    (1234567, None, "1.234.567"), (12.5, None, "12,5"), (1200.25, True, "1.200,25"), (0, None, "0"),
    (float("nan"), None, ""), (3.0, True, "3"),
])
def test_vietnamese_numbers(value, decimal, text):
    assert vn_number(value, decimal) == text


# ---------------------------------------------------------------- hostile text from units

def test_units_text_renders_as_text_everywhere(province):
    _, _, outputs = province
    out = outputs["2026S1"]
    expected = unicodedata.normalize("NFC", NASTY).strip()
    nfc_phrase = unicodedata.normalize("NFC", NFD_PHRASE)
    text = _docx_text(out.word)   # Sở Y tế's words are task 1.1's example: characters, never markup or tags
    assert len(NASTY) == 5000 and "Tiêu biểu: Sở Y tế: kết quả & <b>không đậm</b> {{ context }} {%p if x %}" in text
    assert NFD_PHRASE not in text and nfc_phrase in text

    html = out.html.read_text(encoding="utf-8")
    assert "Kết quả &amp; &lt;b&gt;không đậm&lt;/b&gt; {{ context }} {%p if x %}" in html
    assert "<b>không đậm</b>" not in html and nfc_phrase in html and NFD_PHRASE not in html

    wb = openpyxl.load_workbook(out.excel)
    cells = {c.value: c for row in wb[SHEET_CONTRIBUTIONS].iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    assert expected in cells and cells[FORMULA].data_type == "s" and cells[AT_TEXT].data_type == "s"
    with zipfile.ZipFile(out.excel) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets)


def test_nfd_text_in_the_ledger_is_normalised_in_every_output(province, tmp_path):
    """Whatever a future reader lets through: text reaching the renderers in NFD comes out NFC."""
    import sqlite3

    first, _, outputs = province
    root = tmp_path / "project"
    shutil.copytree(first.root, root)
    with sqlite3.connect(root / "outputs" / "ledger.sqlite") as db:
        db.execute("UPDATE task_reports SET proposals = ? WHERE unit_id = ? AND period = '2026S1' AND task_id = '1.1'",
                   (NFD_PHRASE, "12-SYT"))
    kit = _kit(root, "2026S1")
    out = build_reports(kit.project, kit.period, AS_OF_S1)
    nfc_phrase = unicodedata.normalize("NFC", NFD_PHRASE)
    assert nfc_phrase in _docx_text(out.word) and NFD_PHRASE not in _docx_text(out.word)
    html = out.html.read_text(encoding="utf-8")
    assert nfc_phrase in html and NFD_PHRASE not in html
    values = [c.value for row in openpyxl.load_workbook(out.excel)[SHEET_CONTRIBUTIONS].iter_rows() for c in row]
    assert nfc_phrase in values and NFD_PHRASE not in values


# ---------------------------------------------------------------- the Word document itself

def test_word_report_layout_in_python_docx(province):
    from docx.enum.section import WD_ORIENT

    _, _, outputs = province
    doc = Document(str(outputs["2026S1"].word))
    first, appendices = doc.sections[0], doc.sections[-1]
    assert (round(first.page_width.cm, 1), round(first.page_height.cm, 1)) == (21.0, 29.7)
    assert appendices.orientation == WD_ORIENT.LANDSCAPE and round(appendices.page_width.cm, 1) == 29.7
    for section in doc.sections:   # margins are stored in twips: compare to the hundredth of a cm
        top, bottom, left, right = (round(m.cm, 2) for m in (section.top_margin, section.bottom_margin,
                                                             section.left_margin, section.right_margin))
        assert 2 <= top <= 2.5 and 2 <= bottom <= 2.5 and 3 <= left <= 3.5 and 1.5 <= right <= 2
    assert first.different_first_page_header_footer and not appendices.different_first_page_header_footer
    normal = doc.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    header = doc.tables[0]
    assert header.rows[0].cells[0].paragraphs[1].text == "SỞ Y TẾ"
    assert header.rows[0].cells[1].paragraphs[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    # the charts: task status, one per configured indicator by commune, completeness; numbered captions
    assert len(doc.inline_shapes) == 4
    captions = [p.text for p in doc.paragraphs if p.text.startswith("Biểu đồ ")]
    assert [c.split(".")[0] for c in captions] == ["Biểu đồ 1", "Biểu đồ 2", "Biểu đồ 3", "Biểu đồ 4"]
    assert captions[1].startswith("Biểu đồ 2. Số buổi truyền thông trực tiếp") and "tin báo" in captions[2]
    assert captions[3] == "Biểu đồ 4. Tình hình gửi báo cáo theo loại đơn vị"
    props = doc.core_properties
    assert props.created.replace(tzinfo=None) == props.modified.replace(tzinfo=None) == dt.datetime(2026, 6, 14)


def _pdf(out, tmp_path: Path) -> tuple[Path, str]:
    pdf = soffice_convert(out.word, "pdf", tmp_path / "pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return pdf, text


def _page_sizes(pdf: Path) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)]


@pytest.mark.parametrize("code", ["2026S1", "2026"])
def test_word_report_converts_to_pdf_in_the_official_layout(province, tmp_path, code):
    if shutil.which("pdftotext") is None:
        pytest.skip("!!! pdftotext (poppler-utils) is not installed: `make test` installs it; the PDF text was NOT checked")
    _, _, outputs = province
    out = outputs[code]
    pdf, text = _pdf(out, tmp_path)
    flat = " ".join(text.split())
    label = "6 tháng đầu năm 2026" if code == "2026S1" else "năm 2026"
    for line in ("UBND TỈNH LAI CHÂU", "SỞ Y TẾ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "Số: …/BC-SYT", "Lai Châu, ngày", "BÁO CÁO",
                 f"Kết quả thực hiện công tác phòng, chống mại dâm {label}",
                 "I. TÌNH HÌNH CHUNG", "II. KẾT QUẢ THỰC HIỆN", "III. ĐÁNH GIÁ CHUNG", "IV. PHƯƠNG HƯỚNG, NHIỆM VỤ",
                 "V. ĐỀ XUẤT, KIẾN NGHỊ",
                 "Nơi nhận:", "- Lưu: VT, NVY.", "KT. GIÁM ĐỐC", "Phụ lục I", "Phụ lục II", "Phụ lục III",
                 "TÌNH HÌNH THỰC HIỆN CÁC NHIỆM VỤ THEO BIỂU PHÂN CÔNG", "SỐ LIỆU CÁC CHỈ TIÊU THỐNG KÊ",
                 "TÌNH HÌNH GỬI BÁO CÁO CỦA CÁC CƠ QUAN, ĐƠN VỊ", "(Kèm theo Báo cáo số …/BC-SYT ngày"):
        assert line in flat, line
    order = [flat.index(h) for h in ("BÁO CÁO", "I. TÌNH HÌNH", "II. KẾT QUẢ", "III. ĐÁNH GIÁ", "IV. PHƯƠNG", "V. ĐỀ XUẤT",
                                      "Nơi nhận:")]
    order += [flat.index(h, order[-1]) for h in ("Phụ lục I ", "Phụ lục II ", "Phụ lục III")]
    assert order == sorted(order)
    sizes = _page_sizes(pdf)
    a4 = (595.3, 841.9)
    assert all(abs(w - a4[0]) < 1 and abs(h - a4[1]) < 1 or abs(w - a4[1]) < 1 and abs(h - a4[0]) < 1
               for w, h in sizes), sizes
    assert abs(sizes[0][0] - a4[0]) < 1 and abs(sizes[-1][0] - a4[1]) < 1   # portrait body, landscape appendices
    # margins as printed: the first page's words lie within 3 cm left, 1.5 cm right, 2 cm top and bottom
    bbox = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    words = [tuple(float(x) for x in m) for m in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', bbox)]
    cm = 72 / 2.54
    assert min(w[0] for w in words) >= 3 * cm - 1 and max(w[2] for w in words) <= a4[0] - 1.5 * cm + 1
    assert min(w[1] for w in words) >= 2 * cm - 1 and max(w[3] for w in words) <= a4[1] - 2 * cm + 1
    # page numbers from page 2: none in the first page's top band, "2" at the top of the second
    second = subprocess.run(["pdftotext", "-layout", "-f", "2", "-l", "2", str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout
    assert second.strip().splitlines()[0].strip() == "2"
    assert text.strip().splitlines()[0].strip().startswith("UBND TỈNH LAI CHÂU")


# ---------------------------------------------------------------- deterministic and atomic

def test_same_ledger_gives_the_same_bytes(province):
    first, _, outputs = province
    before = {p.name: p.read_bytes() for p in (outputs["2026S1"].word, outputs["2026S1"].excel, outputs["2026S1"].html)}
    again = build_reports(first.project, first.period, AS_OF_S1)
    after = {p.name: p.read_bytes() for p in (again.word, again.excel, again.html)}
    assert before == after
    for name in ("bao-cao-6-thang-dau-nam-2026.docx", "tong-hop-2026S1.xlsx"):
        with zipfile.ZipFile(io.BytesIO(after[name])) as archive:
            assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_word_report_asks_for_each_chart_when_it_reaches_it(province):
    """Given charts that come one by one (as from the second process), the Word report asks for
    each in the report's order, and is the same bytes."""
    from collections.abc import Mapping

    from pipeline.report.model import charts, report_context
    from pipeline.report.word import word_bytes

    first, _, _ = province
    data = gather(first.project, first.period, AS_OF_S1)
    context, pictures = report_context(data), charts(data)
    asked = []

    class OneByOne(Mapping):
        def __getitem__(self, key):
            asked.append(key)
            return pictures[key]

        def __iter__(self):
            return iter(pictures)

        def __len__(self):
            return len(pictures)
    assert word_bytes(data, context, OneByOne()) == word_bytes(data, context, pictures)
    assert list(dict.fromkeys(asked)) == list(pictures) and len(pictures) == 4


def _second_processes(monkeypatch, module) -> list:
    """Every chart-drawing process that `module` starts (`second_process`), as it is started (None
    where forking does not help)."""
    seen = []
    real = module.second_process

    @contextmanager
    def spy():
        with real() as helper:
            seen.append(helper)
            yield helper

    monkeypatch.setattr(module, "second_process", spy)
    return seen


def test_a_second_core_changes_no_byte(province, monkeypatch):
    """Where processes are forked for the charts and the Excel workbook, the reports are the
    bytes rendered all in one process (as on Windows, or with one core)."""
    import multiprocessing
    import os

    import pipeline.report.build as report_module

    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("rendering forks a second process only with two cores and fork")
    pools = _second_processes(monkeypatch, report_module)
    first, _, _ = province
    data = gather(first.project, first.period, AS_OF_S1)
    forked = render_all(data)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    alone = render_all(data)
    assert pools[0] is not None and pools[1] is None
    assert forked == alone


def test_the_process_writing_the_word_report_never_imports_matplotlib(province, tmp_path):
    """With a second process (started before the figures are gathered when nothing is kept), the
    charts are drawn there and come back as plain data: the officer's process imports neither
    matplotlib nor the module that draws (unpickling a chart would), and writes the same bytes."""
    import multiprocessing
    import os
    import sys

    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("rendering forks a second process only with two cores and fork")
    first, _, _ = province
    root = tmp_path / "project"
    shutil.copytree(first.root, root)
    shutil.rmtree(root / "outputs" / ".bao-cao-da-lap", ignore_errors=True)   # nothing kept: the early start
    before = {p.name: p.read_bytes() for p in (root / "outputs" / "2026S1").glob("*.*")}
    code = ("import sys, datetime as dt\n"
            "from pathlib import Path\n"
            "from pipeline.reference.project import Project\n"
            "from pipeline.reference.periods import parse_period\n"
            "from pipeline.report.build import build_reports\n"
            f"project = Project(Path({str(root)!r}))\n"
            "build_reports(project, parse_period('2026S1', project.settings), dt.date(2026, 6, 25))\n"
            "print(sorted(m for m in ('matplotlib', 'pipeline.report.charts') if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    after = {p.name: p.read_bytes() for p in (root / "outputs" / "2026S1").glob("*.*")}
    assert before and all(after[name] == content for name, content in before.items())


def test_no_process_is_forked_from_a_job_of_the_web_server():
    """A web job runs in a thread beside uvicorn's: there the reports render in one process (a
    fork beside other threads may copy a lock held for ever)."""
    import threading

    import pipeline.report.build as report_module

    seen = []

    def job():
        with report_module.second_process() as pool:
            seen.append(pool)
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen == [None]


@pytest.mark.parametrize("where", ["render", "write"])
def test_interrupted_run_leaves_the_previous_outputs_intact(province, tmp_path, monkeypatch, where):
    first, _, _ = province
    root = tmp_path / "project"
    shutil.copytree(first.root, root)
    kit = _kit(root, "2026S1")
    folder = root / "outputs" / "2026S1"
    names = [f"{report_name(kit.period)}.docx", "tong-hop-2026S1.xlsx", f"{report_name(kit.period)}.html"]
    before = {n: (folder / n).read_bytes() for n in names}
    # new data for the next run: one more commune value
    spec, wb = kit.filled(COMMUNE, values={"TT01": 987})
    kit.save(wb, "ta-leng-ban-2.xlsx")
    kit.ingest()

    import os

    if where == "render":
        import pipeline.report.excel

        def broken(data, context=None):
            raise KeyboardInterrupt  # the officer presses Ctrl+C while the workbook is built
        monkeypatch.setattr(pipeline.report.excel, "excel_bytes", broken)
    else:
        real_fsync, calls = os.fsync, []

        def dying_fsync(fd):
            calls.append(fd)
            if len(calls) == 2:   # killed while the second file is being written
                raise KeyboardInterrupt
            real_fsync(fd)
        monkeypatch.setattr(os, "fsync", dying_fsync)
    with pytest.raises(KeyboardInterrupt):
        build_reports(kit.project, kit.period, AS_OF_S1)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []   # no temporary file left
    for name in names:
        data = (folder / name).read_bytes()
        if where == "render" or name != names[0]:
            assert data == before[name], name   # untouched
    if where == "write":
        assert b">987<" in zipfile.ZipFile(folder / names[0]).read("word/document.xml")   # the first, complete
    # and a clean rerun finishes the job
    out = build_reports(kit.project, kit.period, AS_OF_S1)
    assert "987" in _docx_text(out.word)


# ---------------------------------------------------------------- the rendering kept for a rerun

def _reports(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out.word, out.excel, out.html)}


@pytest.fixture
def rerun(province, tmp_path, monkeypatch):
    """A copy of the province with its reports built, and a counter of the renderings that follow."""
    import pipeline.report.build as build

    first, _, outputs = province
    root = tmp_path / "project"
    shutil.copytree(first.root, root)
    kit = _kit(root, "2026S1")
    before = build_reports(kit.project, kit.period, AS_OF_S1)   # (keeps this copy's rendering)
    renders = []
    real = build.render_all

    def counted(data, beside=None):
        renders.append(data)
        return real(data, beside)
    monkeypatch.setattr(build, "render_all", counted)
    return kit, _reports(before), renders


def test_a_rerun_with_nothing_changed_writes_the_kept_rendering(rerun):
    kit, before, renders = rerun
    again = build_reports(kit.project, kit.period, AS_OF_S1)
    assert renders == [] and _reports(again) == before
    # a fresh process that ingested first (its registry, matrix and catalogue have looked things
    # up and cached them) has the same data: the kept rendering still serves
    fresh = Project(kit.root)
    fresh.registry.resolve("ta leng"), fresh.registry.units, fresh.registry.name_of, fresh.matrix, fresh.catalogue
    kit.ingest()   # nothing new
    assert _reports(build_reports(fresh, kit.period, AS_OF_S1)) == before and renders == []
    # the officer deleted the period's folder: the same files come back, still without drawing
    shutil.rmtree(kit.root / "outputs" / "2026S1")
    assert _reports(build_reports(kit.project, kit.period, AS_OF_S1)) == before and renders == []
    # the kept rendering is what a rendering gives, byte for byte
    assert render_all(gather(kit.project, kit.period, AS_OF_S1)) == before


def test_the_key_is_the_content_not_how_pandas_holds_it(rerun):
    """Rendering uses the frames (pandas may merge their blocks in place, cache lookups): the key
    of the same data is the same before and after, and in another process after an ingestion."""
    from pipeline.report.reuse import render_key

    kit, _, _ = rerun
    data = gather(kit.project, kit.period, AS_OF_S1)
    before = render_key(data)
    render_all(data)
    data.consolidation.values._consolidate_inplace()
    assert render_key(data) == before
    other = gather(Project(kit.root), kit.period, AS_OF_S1)
    assert render_key(other) == before
    shuffled = dataclasses.replace(other, status=other.status.copy().iloc[::-1].iloc[::-1])
    assert render_key(shuffled) == before
    changed = dataclasses.replace(other, status=other.status.assign(versions=other.status["versions"] + 1))
    assert render_key(changed) != before
    # an object of ours that is a value (a str subclass) is keyed by its value
    from pipeline.intake.validate import CellError

    assert render_key(dataclasses.replace(other, locked=CellError("a"))) != render_key(
        dataclasses.replace(other, locked=CellError("b")))
    # something that cannot be pickled: no key (rendered every time), never a crash
    assert render_key(dataclasses.replace(other, signed={"03405": lambda: None})) is None


def _officer_text(kit):
    path = kit.root / "inputs" / "bao-cao" / "2026S1.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("## Đánh giá chung\n\nCán bộ tự viết đoạn đánh giá này.\n", encoding="utf-8")
    return "Cán bộ tự viết đoạn đánh giá này."


def _template(kit):
    path = kit.root / "templates" / "bao-cao.html.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("</body>", "<p>Mẫu đã sửa</p></body>"), encoding="utf-8")
    return "Mẫu đã sửa"


def _setting(kit):
    path = kit.root / "inputs" / "config.toml"
    text = path.read_text(encoding="utf-8")
    assert 'signer_name = ""' in text
    path.write_text(text.replace('signer_name = ""', 'signer_name = "Nguyễn Văn Ký"', 1), encoding="utf-8")
    kit.project = Project(kit.root)
    return "Nguyễn Văn Ký"


def _new_file(kit):
    _spec, wb = kit.filled(COMMUNE, values={"TT01": 987})
    kit.save(wb, "ta-leng-ban-2.xlsx")
    kit.ingest()
    return "987"


def _kept_file_damaged(kit):
    from pipeline.report.reuse import CACHE_NAME

    kept = kit.root / "outputs" / CACHE_NAME / "2026S1" / "tong-hop-2026S1.xlsx"
    kept.write_bytes(kept.read_bytes()[:-10])
    return None


def _library_upgraded(kit, monkeypatch):
    from pipeline.report import reuse

    real = reuse.metadata.version
    monkeypatch.setattr(reuse.metadata, "version", lambda name: "99.0" if name == "openpyxl" else real(name))
    # (the versions are read once a process: an upgrade shows in the next command's process)
    reuse._library_versions.cache_clear()
    monkeypatch.setattr(reuse, "_library_versions", reuse._library_versions.__wrapped__)
    return None


def _code_changed(kit, monkeypatch):
    from pipeline.report import reuse

    package = kit.root / "code-copy" / "pipeline"
    shutil.copytree(reuse._PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "report" / "html.py").write_text((package / "report" / "html.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(reuse, "_PACKAGE", package)
    return None


def _fonts_changed(kit, monkeypatch):
    from pipeline.report import reuse

    real = reuse._font_list
    monkeypatch.setattr(reuse, "_font_list", lambda: real() + b"Times New Roman installed")
    return None


def _matplotlibrc_written(kit, monkeypatch):
    config = kit.root / "mpl-config"
    config.mkdir()
    (config / "matplotlibrc").write_text("axes.facecolor: f0f0f0\n", encoding="utf-8")
    monkeypatch.setenv("MATPLOTLIBRC", str(config))
    return None


@pytest.mark.parametrize("change", [_officer_text, _template, _setting, _new_file, _kept_file_damaged,
                                    _library_upgraded, _code_changed, _fonts_changed, _matplotlibrc_written])
def test_whatever_the_reports_are_rendered_from_renders_them_again(rerun, change, monkeypatch):
    """The officer's text, a template, a setting, a new file, a damaged kept copy, a library
    upgraded, the code, the fonts, a matplotlibrc: each one renders the reports again (and shows
    in them where it is text)."""
    kit, before, renders = rerun
    import inspect

    shown = change(kit, monkeypatch) if len(inspect.signature(change).parameters) == 2 else change(kit)
    out = build_reports(kit.project, kit.period, AS_OF_S1)
    assert len(renders) == 1
    if shown is not None:
        assert shown in _docx_text(out.word) + out.html.read_text(encoding="utf-8")
        assert _reports(out) != before
    else:
        assert _reports(out) == before   # rendered again, to the same bytes
    # and the rendering just made is the one kept for the next run
    build_reports(kit.project, kit.period, AS_OF_S1)
    assert len(renders) == 1


def test_the_guess_that_the_kept_rendering_will_do(rerun):
    """`probably_kept` (whether the command starts the chart-drawing process before it ingests):
    yes after a rendering or a use of the kept one with nothing received or written since; no
    with nothing kept, a file received or copied in (even an old one), or the officer's text
    written; a kept rendering used again makes the guess right again."""
    import os

    from pipeline.report import reuse

    kit, before, _ = rerun
    kept = reuse.cache_dir(kit.settings, "2026S1")
    received = kit.settings.path("submissions") / "2026S1"
    text = kit.root / "inputs" / "bao-cao"
    text.mkdir(parents=True, exist_ok=True)
    sources = [received, text]
    assert reuse.probably_kept(kept, sources)
    assert not reuse.probably_kept(reuse.cache_dir(kit.settings, "2027S1"), sources)   # nothing kept
    copied = received / "gui SYT" / "ban cu.xlsx"
    copied.parent.mkdir(exist_ok=True)
    shutil.copy2(next(received.glob("*.xlsx")), copied)
    os.utime(copied, (1_600_000_000, 1_600_000_000))   # an old file copied in: its time says 2020
    assert not reuse.probably_kept(kept, sources)
    build_reports(kit.project, kit.period, AS_OF_S1)   # the same file twice: the kept rendering used
    assert reuse.probably_kept(kept, sources)
    (text / "2026S1.md").write_text("## Đánh giá chung\n\nMột đoạn.\n", encoding="utf-8")
    assert not reuse.probably_kept(kept, sources)


def test_a_rerun_starts_no_drawing_process(project, monkeypatch):
    """The officer's command starts the chart-drawing process before it ingests when a rendering
    is likely; not for the rerun with nothing new (it would import matplotlib for nothing)."""
    import pipeline.report.drawing as drawing

    started = _second_processes(monkeypatch, drawing)
    kit = _kit(project, "2026S1")
    _spec, wb = kit.filled(COMMUNE, values={"TT01": 77})
    kit.save(wb, "Ta Leng.xlsx")
    command = ["--root", str(project), "semiannual", "--period", "2026S1", "--force"]
    first = CliRunner().invoke(cli, command)
    assert first.exit_code == 0, first.output
    assert len(started) == 1
    word = project / "outputs" / "2026S1" / "bao-cao-6-thang-dau-nam-2026.docx"
    written = word.read_bytes()
    again = CliRunner().invoke(cli, command)
    assert again.exit_code == 0, again.output
    assert len(started) == 1 and word.read_bytes() == written


def test_a_template_edited_while_the_reports_render_is_not_kept_under_its_new_key(rerun, monkeypatch):
    """The officer saves a template while a run renders: what was rendered is not kept as the
    rendering of the new template; the next run renders it."""
    import pipeline.report.build as build

    kit, _, renders = rerun
    path = kit.root / "templates" / "bao-cao.html.j2"
    template = path.read_text(encoding="utf-8")
    path.write_text(template.replace("</body>", "<p>Sửa lần một</p></body>"), encoding="utf-8")
    counted = build.render_all

    def while_rendering(data, beside=None):
        out = counted(data, beside)
        path.write_text(template.replace("</body>", "<p>Sửa lần hai</p></body>"), encoding="utf-8")
        return out
    monkeypatch.setattr(build, "render_all", while_rendering)
    first = build_reports(kit.project, kit.period, AS_OF_S1)
    assert "Sửa lần một" in first.html.read_text(encoding="utf-8")
    monkeypatch.setattr(build, "render_all", counted)
    second = build_reports(kit.project, kit.period, AS_OF_S1)
    assert len(renders) == 2 and "Sửa lần hai" in second.html.read_text(encoding="utf-8")


def test_another_as_of_day_renders_again(rerun):
    kit, before, renders = rerun
    out = build_reports(kit.project, kit.period, AS_OF_S1 + dt.timedelta(days=30))
    assert len(renders) == 1 and _reports(out) != before


def test_without_matplotlibs_font_list_nothing_is_kept(rerun, monkeypatch):
    """Where matplotlib's font list cannot be found the charts' font is unknown: render every time."""
    from pipeline.report import reuse

    kit, before, renders = rerun
    monkeypatch.setattr(reuse, "_font_list", lambda: None)
    for _ in range(2):
        assert _reports(build_reports(kit.project, kit.period, AS_OF_S1)) == before
    assert len(renders) == 2


def test_the_rendering_reads_only_the_gathered_data_and_the_templates(rerun):
    """What the renderers read is in ReportData (the key hashes it) or under templates/: with the
    ledger and inputs/ gone after gathering, the same bytes."""
    kit, before, _ = rerun
    data = gather(kit.project, kit.period, AS_OF_S1)
    shutil.move(kit.root / "inputs", kit.root / "inputs-away")
    shutil.move(kit.root / "outputs", kit.root / "outputs-away")
    assert render_all(data) == before


# ---------------------------------------------------------------- edges and the command line

def test_report_with_an_empty_ledger_names_every_unit_as_not_reported(project):
    from pipeline.report.model import TooFewReports

    loaded = Project(project)
    period = loaded.period("2026S1")
    with pytest.raises(TooFewReports, match="0/46"):
        build_reports(loaded, period, AS_OF_S1)
    out = build_reports(loaded, period, AS_OF_S1, force=True)
    k = out.data.consolidation
    assert set(k.tasks["status"]) == {NO_LEAD_REPORT} and not k.contributions["reported"].any()
    assert k.indicators["total"].isna().all()
    assert "DỰ THẢO" in _docx_text(out.word) and "Chưa nộp" in _docx_text(out.word)
    assert not (project / "outputs" / "ledger.sqlite").exists()   # reading never creates the ledger


@pytest.mark.parametrize("paragraph, message", [
    ("{{ no_such_variable }}", "dùng biến không có.*no_such_variable"),   # a missing variable fails loudly
    ("{% if annual %} không đóng thẻ", "viết sai"),                       # a broken tag says so
])
def test_template_errors_in_an_edited_report_template(project, paragraph, message):
    doc = Document(str(project / "templates" / "bao-cao.docx"))
    doc.add_paragraph(paragraph)
    doc.save(str(project / "templates" / "bao-cao.docx"))
    loaded = Project(project)
    data = gather(loaded, loaded.period("2026S1"), AS_OF_S1, force=True)
    with pytest.raises(BaocaoError, match=message):
        render_all(data)


def test_a_failed_rendering_leaves_no_drawing_process_behind(project, monkeypatch):
    """The Word report failing while the charts are being drawn: the error is raised at once and
    both drawing processes (the one started and its copy, which draws half the charts) are gone,
    not left sending a chart nobody reads (which held the officer's terminal open)."""
    import multiprocessing
    import os
    import signal
    import time

    import pipeline.report.build as report_module

    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods() \
            or not Path("/proc/self/stat").is_file():
        pytest.skip("the charts are drawn beside only with two cores and fork; processes are listed from /proc")
    helpers = _second_processes(monkeypatch, report_module)

    def in_group(pid: int) -> list[int]:
        """The live processes of the process group `pid`."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found

    drawing_then = []

    def broken(data, context, pictures):
        pictures["task_status"]   # the first chart taken: both processes are drawing
        drawing_then.extend(in_group(helpers[0]._process.pid))
        raise BaocaoError("Mẫu báo cáo hỏng giữa chừng")

    import pipeline.report.word

    monkeypatch.setattr(pipeline.report.word, "word_bytes", broken)
    loaded = Project(project)
    data = gather(loaded, loaded.period("2026S1"), AS_OF_S1, force=True)
    with pytest.raises(BaocaoError, match="hỏng giữa chừng"):
        render_all(data)
    group = helpers[0]._process.pid
    # (the group is looked for where it was: the process and its copy, a group of their own)
    assert len(drawing_then) == 2 and group in drawing_then
    deadline = time.monotonic() + 5   # a killed process is gone within moments, not at once
    while in_group(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = in_group(group)
    for pid in left:   # (so that a failure here leaves no process holding the suite's output)
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_cli_semiannual_ingests_then_writes_the_reports(project):
    kit = _kit(project, "2026S1")
    spec, wb = kit.filled(COMMUNE, values={"TT01": 77})
    kit.save(wb, "Ta Leng.xlsx")
    result = CliRunner().invoke(cli, ["--root", str(project), "semiannual", "--period", "2026S1"])
    assert result.exit_code == 2 and "1 tệp mới" in result.output and "1/46" in result.output   # too few
    assert "FORCE=1" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["--root", str(project), "semiannual", "--period", "2026S1", "--force"])
    assert result.exit_code == 0, result.output
    assert "1/46 đơn vị" in result.output and "DỰ THẢO" in result.output
    assert "chưa có inputs/bao-cao/2026S1.md" in result.output
    folder = project / "outputs" / "2026S1"
    assert {p.name for p in folder.iterdir()} >= {"bao-cao-6-thang-dau-nam-2026.docx", "tong-hop-2026S1.xlsx",
                                                  "bao-cao-6-thang-dau-nam-2026.html"}
    html = (folder / "bao-cao-6-thang-dau-nam-2026.html").read_text(encoding="utf-8")
    # self-contained: nothing fetched (no link, script, import or remote source), charts inlined
    assert not re.search(r"https?://|<link|<script|@import|src=\"(?!data:)", html)
    assert html.count('src="data:image/png;base64,') == 4   # task status, TT01 and XL06 by commune, completeness


def test_cli_annual_and_a_wrong_period(project):
    result = CliRunner().invoke(cli, ["--root", str(project), "annual", "--year", "2026", "--as-of", "2026-12-20",
                                      "--force"])
    assert result.exit_code == 0, result.output
    assert (project / "outputs" / "2026" / "bao-cao-nam-2026.docx").is_file()
    wrong = CliRunner().invoke(cli, ["--root", str(project), "semiannual", "--period", "2026"])
    assert wrong.exit_code == 2 and "annual --year 2026" in wrong.output and "Traceback" not in wrong.output
