"""Ingestion: real templates from the project's generator, filled as a commune would, read back,
validated and stored; every bad input a finding with its place and its message, never a stop."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import unicodedata
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.forms import layout
from pipeline.reference.catalogue import load_catalogue
from pipeline.cli.main import cli
from pipeline.reference.settings import load_settings
from pipeline.store.ledger import Ledger
from pipeline.reference.matrix import load_matrix
from pipeline.reference.periods import parse_period
from pipeline.reference.units import load_registry
from pipeline.intake.validate import parse_number

from conftest import copy_project_data, soffice_convert
from filling import COMMUNE, DEPARTMENT, Kit, row_of, task_row, typed_values, xlsx_bytes


@pytest.fixture
def kit(project) -> Kit:
    settings = load_settings(project)
    registry = load_registry(settings)
    matrix = load_matrix(settings, registry)
    catalogue = load_catalogue(settings, matrix, registry)
    return Kit(project, settings, registry, matrix, catalogue, parse_period("2026S1", settings))


def ledger_rows(kit, sql, *args):
    with sqlite3.connect(kit.settings.path("ledger")) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute(sql, args)]


def only(report):
    assert len(report.judged) == 1, report.judged
    return report.judged[0]


def rules(judged):
    return {(f["rule"], f["severity"]) for f in judged["findings"]}


def the(judged, rule):
    hits = [f for f in judged["findings"] if f["rule"] == rule]
    assert hits, f"no {rule} finding in {judged['findings']}"
    return hits[0]


# ---------------------------------------------------------------- a good file

def test_filled_template_is_accepted_and_its_values_stored(kit):
    spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "bao cao Ta Leng.xlsx")
    judged = only(kit.ingest())
    assert judged["outcome"] == "accepted", judged["findings"]
    assert (judged["unit_id"], judged["identified_by"], judged["version"]) == (COMMUNE, "metadata", 1)
    values = ledger_rows(kit, "SELECT code, value, sheet, cell, file FROM current_indicator_values WHERE unit_id = ?",
                         COMMUNE)
    assert len(values) == len(spec.indicators)
    first = spec.indicators[0]["code"]
    assert {v["code"]: v["value"] for v in values} == typed_values(spec)
    assert {v["code"]: (v["sheet"], v["cell"], v["file"]) for v in values}[first] == (
        layout.SHEET_INDICATORS, f"E{layout.INDICATORS_FIRST_ROW}", "bao cao Ta Leng.xlsx")
    tasks = ledger_rows(kit, "SELECT task_id, role, status, results, quantity, row FROM current_task_reports")
    assert [t["task_id"] for t in tasks] == [t["task_id"] for t in spec.tasks]
    assert tasks[0]["status"] == "Hoàn thành" and tasks[0]["quantity"] == 2 and tasks[0]["row"] == layout.TASKS_FIRST_ROW
    assert {t["role"] for t in tasks} <= set(layout.ROLES.values())
    assert ledger_rows(kit, "SELECT preparer, phone, report_date, head_of_unit FROM submission_info") == [
        {"preparer": "Nguyễn Thị Hoa", "phone": "0912 345 678", "report_date": "2026-06-15",
         "head_of_unit": "Lò Văn Thắng"}]
    archived = ledger_rows(kit, "SELECT archive_path, sha256 FROM submissions")[0]
    assert (kit.settings.path("outputs") / archived["archive_path"]).read_bytes() == (kit.folder / "bao cao Ta Leng.xlsx").read_bytes()
    assert archived["sha256"] in archived["archive_path"]


def test_reingesting_an_unchanged_file_is_a_no_op(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "a.xlsx")
    kit.ingest()
    (kit.folder / "copy of a.xlsx").write_bytes((kit.folder / "a.xlsx").read_bytes())
    again = kit.ingest()
    assert (again.files_seen, again.files_new, again.judged) == (2, 0, [])
    assert ledger_rows(kit, "SELECT COUNT(*) AS n FROM submissions")[0]["n"] == 1


def test_department_file_accepted(kit):
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "syt.xlsx")
    assert only(kit.ingest())["outcome"] == "accepted"


@pytest.mark.slow   # LibreOffice
@pytest.mark.parametrize("target", ["xlsx", "ods", "xls", "xlsm:Calc MS Excel 2007 VBA XML"])
def test_libreoffice_round_trip_is_accepted_with_the_same_values(kit, tmp_path, target):
    spec, wb = kit.filled(COMMUNE)
    source = tmp_path / "ta-leng.xlsx"
    wb.save(source)
    converted = soffice_convert(source, target, tmp_path / "lo")
    (kit.folder / converted.name).write_bytes(converted.read_bytes())
    judged = only(kit.ingest())
    assert judged["outcome"] == "accepted", judged["findings"]
    assert judged["fmt"] == target.split(":")[0]
    values = {r["code"]: r["value"] for r in ledger_rows(kit, "SELECT code, value FROM current_indicator_values")}
    assert values == typed_values(spec)


@pytest.mark.slow   # LibreOffice
def test_formulas_count_by_their_cached_values_and_error_cells_are_errors(kit, tmp_path):
    spec, wb = kit.filled(COMMUNE)
    ws = wb[layout.SHEET_INDICATORS]
    first, second = spec.indicators[0]["code"], spec.indicators[1]["code"]
    ws[f"E{row_of(spec, first)}"] = "=2+3"
    ws[f"E{row_of(spec, second)}"] = "=1/0"
    source = tmp_path / "formulas.xlsx"
    wb.save(source)
    converted = soffice_convert(source, "xlsx", tmp_path / "lo")  # Excel or Calc stores the computed values
    (kit.folder / "formulas.xlsx").write_bytes(converted.read_bytes())
    judged = only(kit.ingest())
    error = the(judged, "error_cell")
    assert (error["sheet"], error["cell"], error["severity"]) == (layout.SHEET_INDICATORS, f"E{row_of(spec, second)}", "error")
    assert "#DIV/0!" in error["message"]
    stored = {r["code"]: r["value"] for r in ledger_rows(kit, "SELECT code, value FROM indicator_values")}
    assert stored[first] == 5 and stored[second] is None
    assert judged["outcome"] == "rejected"


# ---------------------------------------------------------------- every bad input: a finding, a place, a message

def _write(kit, name: str, data: bytes) -> None:
    (kit.folder / name).write_bytes(data)


def _docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Báo cáo kết quả 6 tháng đầu năm")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _encrypted(kit) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    _spec, wb = kit.filled(COMMUNE)
    plain = io.BytesIO(xlsx_bytes(wb))
    out = io.BytesIO()
    OOXMLFile(plain).encrypt("matkhau123", out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


def _xml_bomb(kit) -> bytes:
    """The unit's own file with a billion-laughs entity in a sheet: refused, never expanded."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10))
    source = io.BytesIO(xlsx_bytes(kit.filled(COMMUNE)[1]))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                text = data.decode("utf-8")
                text = text.split("?>", 1)[1] if text.startswith("<?xml") else text
                text = text.replace("<sheetData>", '<sheetData><row r="30"><c r="A30" t="inlineStr"><is><t>&lol9;</t>'
                                                   "</is></c></row>", 1)
                data = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>{text}'.encode("utf-8")
            dst.writestr(info, data)
    return out.getvalue()


UNREADABLE = [
    # (case, file name, make bytes, rule, message fragment)
    ("not a spreadsheet", "ghi chu.xlsx", lambda kit: "Kính gửi Sở Y tế".encode("utf-8"), "not_a_spreadsheet",
     "Không phải bảng tính"),
    ("docx renamed", "bao cao.xlsx", lambda kit: _docx_bytes(), "not_a_spreadsheet", "văn bản Word (.docx) đổi đuôi"),
    ("pdf renamed", "bao cao.xlsx", lambda kit: b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n", "not_a_spreadsheet",
     "Tệp là PDF"),
    ("corrupt zip", "hong.xlsx", lambda kit: xlsx_bytes(kit.filled(COMMUNE)[1])[:3000], "corrupt_file",
     "Tệp bị hỏng"),
    ("password", "mat khau.xlsx", _encrypted, "password_protected", "đặt mật khẩu"),
    ("zip bomb", "bom.xlsx", lambda kit: _zip_bomb(), "zip_bomb", "khi giải nén lên tới 60 MB"),
    ("xml bomb", "bom xml.xlsx", _xml_bomb, "corrupt_file", "không đọc được nội dung"),
    ("far too large", "lon.xlsx", lambda kit: b"PK\x03\x04" + b"\0" * (11 * 1024 * 1024), "file_too_large",
     "Tệp quá lớn (11,0 MB"),
]


@pytest.mark.parametrize("case, name, make, rule, message", UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_file_is_a_finding_naming_the_file(kit, case, name, make, rule, message):
    _write(kit, name, make(kit))
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "good.xlsx")       # the batch goes on past the bad file
    report = kit.ingest()
    by_name = {j["original_name"]: j for j in report.judged}
    assert by_name["good.xlsx"]["outcome"] == "accepted"
    bad = by_name[name]
    assert bad["outcome"] == "rejected" and bad["unit_id"] is None
    finding = the(bad, rule)
    assert (finding["file"], finding["sheet"], finding["cell"], finding["severity"]) == (name, "", "", "error")
    assert message in finding["message"]


def _edit(kit, change, unit=COMMUNE):
    spec, wb = kit.filled(unit)
    change(spec, wb)
    return spec, wb


def _set(sheet, cell, value):
    def change(spec, wb):
        wb[sheet][cell(spec) if callable(cell) else cell] = value
    return change


def _first_indicator(spec):
    return f"E{layout.INDICATORS_FIRST_ROW}"


def _rename(spec, wb):
    wb[layout.SHEET_TASKS].title = "NV"


def _delete_indicators(spec, wb):
    del wb[layout.SHEET_INDICATORS]


def _reorder(spec, wb):
    wb.move_sheet(layout.SHEET_INDICATORS, offset=-2)


def _insert_row(spec, wb):
    ws = wb[layout.SHEET_TASKS]
    ws.insert_rows(layout.TASKS_FIRST_ROW + 1)
    ws[f"F{layout.TASKS_FIRST_ROW + 1}"] = "Bổ sung: tổ chức thêm 1 buổi"


def _delete_row(spec, wb):
    wb[layout.SHEET_TASKS].delete_rows(layout.TASKS_FIRST_ROW + 1)


def _shuffle_rows(spec, wb):
    ws = wb[layout.SHEET_TASKS]
    a, b = layout.TASKS_FIRST_ROW, layout.TASKS_FIRST_ROW + 1
    for c in layout.TASK_COLUMNS:
        ws[f"{c.letter}{a}"].value, ws[f"{c.letter}{b}"].value = ws[f"{c.letter}{b}"].value, ws[f"{c.letter}{a}"].value


def _merge(spec, wb):
    ws = wb[layout.SHEET_TASKS]
    ws.merge_cells(f"F{layout.TASKS_FIRST_ROW}:F{layout.TASKS_FIRST_ROW + 1}")


def _hide_row(spec, wb):
    wb[layout.SHEET_TASKS].row_dimensions[layout.TASKS_FIRST_ROW + 1].hidden = True


def _other_unit_in_sheet(spec, wb):
    wb[layout.SHEET_INFO]["B4"] = "Phường Đoàn Kết"
    wb[layout.SHEET_INFO]["B5"] = "03388"


def _other_version(spec, wb):
    wb[layout.SHEET_META]["B3"] = "2025.1"


def _nfd(spec, wb):
    wb[layout.SHEET_TASKS][f"F{layout.TASKS_FIRST_ROW}"] = unicodedata.normalize("NFD", "Đã tổ chức hội nghị tuyên truyền")


def _status(value):
    return _set(layout.SHEET_TASKS, f"E{layout.TASKS_FIRST_ROW}", value)


T1 = layout.TASKS_FIRST_ROW
I1 = layout.INDICATORS_FIRST_ROW
BAD_CELLS = [
    # (case, change, rule, severity, sheet, cell, message fragment, outcome)
    ("another template version", _other_version, "template_version", "error", layout.SHEET_META, "B3",
     "phiên bản 2025.1", "rejected"),
    ("sheet renamed", _rename, "sheet_renamed", "warning", "NV", "", "đã bị đổi tên", "accepted_with_warnings"),
    ("sheet deleted", _delete_indicators, "sheet_missing", "error", layout.SHEET_INDICATORS, "",
     "Thiếu trang 'Chỉ tiêu'", "rejected"),
    ("sheets reordered", _reorder, "sheets_reordered", "warning", layout.SHEET_INDICATORS, "",
     "Thứ tự các trang đã bị thay đổi", "accepted_with_warnings"),
    ("row inserted", _insert_row, "row_inserted", "error", layout.SHEET_TASKS, f"A{T1 + 1}",
     "không có mã nhiệm vụ (dòng chèn thêm)", "rejected"),
    ("row deleted", _delete_row, "row_missing", "error", layout.SHEET_TASKS, "", "Thiếu dòng nhiệm vụ", "rejected"),
    ("rows shuffled", _shuffle_rows, "rows_moved", "warning", layout.SHEET_TASKS, f"A{T1}",
     "đã bị chèn, xoá hoặc đổi thứ tự", "accepted_with_warnings"),
    ("merged cells", _merge, "merged_cells", "warning", layout.SHEET_TASKS, f"F{T1}:F{T1 + 1}",
     "bị gộp: chỉ ô đầu", "rejected"),
    ("hidden row", _hide_row, "hidden_row", "warning", layout.SHEET_TASKS, f"A{T1 + 1}", "đang bị ẩn",
     "accepted_with_warnings"),
    ("text in a number cell", _set(layout.SHEET_INDICATORS, f"E{I1}", "chưa thống kê"), "not_a_number", "error",
     layout.SHEET_INDICATORS, f"E{I1}", "'chưa thống kê' không phải là số", "rejected"),
    ("negative number", _set(layout.SHEET_INDICATORS, f"E{I1}", -3), "negative", "error", layout.SHEET_INDICATORS,
     f"E{I1}", "không được âm", "rejected"),
    ("decimal in a whole-number indicator", _set(layout.SHEET_INDICATORS, f"E{I1}", 2.5), "not_whole", "error",
     layout.SHEET_INDICATORS, f"E{I1}", "phải là số nguyên", "rejected"),
    ("blank indicator value", _set(layout.SHEET_INDICATORS, f"E{I1}", None), "required", "error",
     layout.SHEET_INDICATORS, f"E{I1}", "không có số liệu phát sinh thì ghi 0", "rejected"),
    ("32,000-character text", _set(layout.SHEET_TASKS, f"F{T1}", "Kết quả " * 4000), "text_too_long", "error",
     layout.SHEET_TASKS, f"F{T1}", "dài quá 8.000 ký tự", "rejected"),
    ("formula never calculated", _set(layout.SHEET_INDICATORS, f"E{I1}", "=SUM(1,2)"), "error_cell", "error",
     layout.SHEET_INDICATORS, f"E{I1}", "công thức chưa được tính", "rejected"),
    ("text in NFD", _nfd, "nfd_text", "warning", layout.SHEET_TASKS, f"F{T1}", "Unicode tổ hợp (NFD)",
     "accepted_with_warnings"),
    ("status not in the list", _status("Xong"), "status_not_allowed", "error", layout.SHEET_TASKS, f"E{T1}",
     "'Xong' không có trong danh sách", "rejected"),
    ("status missing", _status(None), "required", "error", layout.SHEET_TASKS, f"E{T1}",
     "Chưa chọn tình trạng", "rejected"),
    ("results missing when done", _set(layout.SHEET_TASKS, f"F{T1}", None), "results_required", "error",
     layout.SHEET_TASKS, f"F{T1}", "thì phải ghi kết quả thực hiện", "rejected"),
    ("required info missing", _set(layout.SHEET_INFO, "B7", None), "required", "error", layout.SHEET_INFO, "B7",
     "Chưa ghi người lập biểu", "rejected"),
    ("report date not a date", _set(layout.SHEET_INFO, "B9", "ngày 15 tháng 6"), "invalid_date", "error",
     layout.SHEET_INFO, "B9", "không đúng dạng ngày/tháng/năm", "rejected"),
    ("metadata says one unit, the sheet another", _other_unit_in_sheet, "unit_conflict", "error", layout.SHEET_INFO,
     "B4", "dữ liệu nhận diện là 03405 (Xã Tả Lèng) nhưng trang Thông tin ghi 03388", "rejected"),
    ("thousands typed the Vietnamese way", _set(layout.SHEET_INDICATORS, f"E{I1}", "1.000"), "vietnamese_number",
     "warning", layout.SHEET_INDICATORS, f"E{I1}", "Đã hiểu '1.000' là 1.000", "accepted_with_warnings"),
    ("decimal comma in a decimal indicator", _set(layout.SHEET_INDICATORS, lambda s: f"E{row_of(s, 'HT07')}", "12,5"),
     "vietnamese_number", "warning", layout.SHEET_INDICATORS, "HT07", "Đã hiểu '12,5' là 12,5 (dấu phẩy thập phân)",
     "accepted_with_warnings"),
    ("ambiguous number", _set(layout.SHEET_INDICATORS, f"E{I1}", "1,200"), "ambiguous_number", "error",
     layout.SHEET_INDICATORS, f"E{I1}", "không rõ là 1200 hay 1.200", "rejected"),
    ("implausible pair", lambda spec, wb: (_set(layout.SHEET_INDICATORS, lambda s: f"E{row_of(s, 'XL07')}", 50)(spec, wb)),
     "implausible", "warning", layout.SHEET_INDICATORS, None, "Số tin báo, tố giác đã xử lý xong (50) lớn hơn",
     "accepted_with_warnings"),
]


@pytest.mark.parametrize("case, change, rule, severity, sheet, cell, message, outcome", BAD_CELLS,
                         ids=[b[0] for b in BAD_CELLS])
def test_bad_cell_is_a_finding_with_its_place_and_message(kit, case, change, rule, severity, sheet, cell, message,
                                                          outcome):
    unit = "12-CA" if rule == "implausible" else COMMUNE
    spec, wb = _edit(kit, change, unit)
    kit.save(wb, "bao-cao.xlsx")
    judged = only(kit.ingest())
    finding = the(judged, rule)
    if cell is None:
        cell = f"E{row_of(spec, 'XL07')}"
    elif cell in ("HT07",):   # given as an indicator code: its value cell
        cell = f"E{row_of(spec, cell)}"
    assert (finding["sheet"], finding["cell"], finding["severity"]) == (sheet, cell, severity)
    assert message in finding["message"], finding["message"]
    assert finding["file"] == "bao-cao.xlsx"
    assert judged["outcome"] == outcome, judged["findings"]


@pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated")   # (pandas 3: until 4)
@pytest.mark.parametrize("infer_string", [False, True], ids=["object strings", "pandas 3 strings"])
def test_a_missing_text_cell_stays_missing_for_the_schema(infer_string):
    """pandas 2 (and 3 with its string dtype off) turns None into "None" under astype("str"): a
    missing status or missing results would then pass the schema's not-null checks."""
    import pandas as pd

    from pipeline.intake.validate import _typed

    frame = pd.DataFrame({"file_key": [1, 1, 1, 1], "status": [None, "Hoàn thành", float("nan"), pd.NA],
                          "results": ["Đã làm", None, 12, ""]}, dtype=object)
    with pd.option_context("future.infer_string", infer_string):
        typed = _typed(frame.copy())
    assert typed["status"].isna().tolist() == [True, False, True, True]
    assert typed["results"].isna().tolist() == [False, True, False, False]
    assert [typed.at[1, "status"], typed.at[0, "results"], typed.at[2, "results"], typed.at[3, "results"]] == [
        "Hoàn thành", "Đã làm", "12", ""]


def test_blank_template_sent_back_is_one_finding(kit):
    _spec, wb = kit.blank(COMMUNE)
    kit.save(wb, "chua dien.xlsx")
    judged = only(kit.ingest())
    assert judged["outcome"] == "rejected"
    assert [(f["rule"], f["sheet"], f["cell"]) for f in judged["findings"]] == [
        ("blank_template", layout.SHEET_TASKS, f"E{layout.TASKS_FIRST_ROW}")]
    assert "Biểu mẫu chưa được điền" in judged["findings"][0]["message"]


def test_file_for_another_period_is_a_conflict(kit):
    annual = parse_period("2026", kit.settings)
    _spec, wb = kit.filled(COMMUNE, period=annual)
    kit.save(wb, "nam.xlsx")
    judged = only(kit.ingest())
    finding = the(judged, "period_conflict")
    assert (finding["sheet"], finding["cell"]) == (layout.SHEET_INFO, "B6")
    assert "Tệp là báo cáo kỳ 2026 nhưng nằm trong thư mục kỳ 2026S1" in finding["message"]
    assert judged["outcome"] == "rejected"


def test_file_registered_for_another_unit_is_a_conflict(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "nhan.xlsx")
    (kit.folder / "so-den.csv").write_text("Tên tệp,Đơn vị,Ngày đến\r\nnhan.xlsx,Phường Đoàn Kết,17/06/2026\r\n",
                                           encoding="utf-8-sig")
    judged = only(kit.ingest())
    assert "Sổ công văn đến ghi tệp này của 03388" in the(judged, "unit_conflict")["message"]
    assert judged["unit_id"] is None and judged["outcome"] == "rejected"


def test_unit_not_in_the_registry_is_a_finding(kit):
    def foreign(spec, wb):
        wb[layout.SHEET_META]["B1"] = "99999"
        wb[layout.SHEET_INFO]["B4"] = "Xã Không Có"
        wb[layout.SHEET_INFO]["B5"] = "99999"
    _spec, wb = _edit(kit, foreign)
    kit.save(wb, "la.xlsx")
    judged = only(kit.ingest())
    finding = the(judged, "unit_unknown")
    assert (finding["sheet"], finding["cell"], finding["value"]) == (layout.SHEET_META, "B1", "99999")
    assert "không có trong danh sách đơn vị báo cáo" in finding["message"]


def test_metadata_deleted_falls_back_on_the_info_sheet_and_says_so(kit):
    def drop_meta(spec, wb):
        del wb[layout.SHEET_META]
    _spec, wb = _edit(kit, drop_meta)
    kit.save(wb, "khong meta.xlsx")
    judged = only(kit.ingest())
    assert (judged["unit_id"], judged["identified_by"], judged["outcome"]) == (COMMUNE, "sheet", "accepted_with_warnings")
    assert "đã xác định đơn vị theo trang Thông tin: 03405 (Xã Tả Lèng)" in the(judged, "identified_by_sheet")["message"]


def test_tampered_metadata_falls_back_on_the_info_sheet(kit):
    _spec, wb = _edit(kit, _set(layout.SHEET_META, "B4", "0000000000000000"))
    kit.save(wb, "sua.xlsx")
    judged = only(kit.ingest())
    assert (judged["unit_id"], judged["identified_by"]) == (COMMUNE, "sheet")
    assert "không khớp với biểu mẫu đã phát" in the(judged, "identified_by_sheet")["message"]


def test_last_resort_is_the_file_name(kit):
    def anonymous(spec, wb):
        del wb[layout.SHEET_META]
        wb[layout.SHEET_INFO]["B4"] = None
        wb[layout.SHEET_INFO]["B5"] = None
    _spec, wb = _edit(kit, anonymous)
    kit.save(wb, "2026S1_03405_bao-cao.xlsx")
    judged = only(kit.ingest())
    assert (judged["unit_id"], judged["identified_by"]) == (COMMUNE, "file_name")
    assert "theo tên tệp: 03405" in the(judged, "identified_by_file_name")["message"]


def test_two_different_files_for_one_unit_in_one_batch(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "a/ta leng.xlsx")
    _spec, wb = kit.filled(COMMUNE, values={_spec.indicators[0]["code"]: 99})
    kit.save(wb, "b/ta leng sua.xlsx")
    report = kit.ingest()
    assert [(j["original_name"], j["version"]) for j in report.judged] == [("a/ta leng.xlsx", 1), ("b/ta leng sua.xlsx", 2)]
    for judged in report.judged:
        assert "tệp nhận sau cùng (b/ta leng sua.xlsx)" in the(judged, "two_files_in_batch")["message"]
    current = ledger_rows(kit, "SELECT original_name FROM submissions WHERE is_current = 1")
    assert current == [{"original_name": "b/ta leng sua.xlsx"}]


# ---------------------------------------------------------------- Vietnamese numbers

@pytest.mark.parametrize("raw, decimal, value, rule", [
    (12.0, False, 12, ""),
    ("12", False, 12, ""),
    ("1.200", False, 1200, "vietnamese_number"),
    ("1.200.000", False, 1200000, "vietnamese_number"),
    ("12 người", False, 12, "vietnamese_number"),
    ("không", False, 0, "vietnamese_number"),
    ("1,5", True, 1.5, "vietnamese_number"),
    ("1.250,75", True, 1250.75, "vietnamese_number"),
    ("1,200,000", False, 1200000, "vietnamese_number"),
    ("1,200", False, None, "ambiguous_number"),
    ("nhiều", False, None, "not_a_number"),
    ("12 người 3 vụ", False, None, "not_a_number"),
    (dt.date(2026, 6, 1), False, None, "not_a_number"),
    (True, False, None, "not_a_number"),
    ("", False, None, ""),
])
def test_parse_number(raw, decimal, value, rule):
    parsed = parse_number(raw, decimal)
    assert (parsed.value, parsed.rule) == (value, rule)


# ---------------------------------------------------------------- versions, receipt dates, history

def test_new_version_supersedes_and_history_shows_what_changed(kit):
    spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "v1.xlsx")
    kit.ingest()
    code = spec.indicators[2]["code"]
    _spec, wb = kit.filled(COMMUNE, values={code: 77})
    wb[layout.SHEET_TASKS][f"E{task_row(spec, spec.tasks[0]['task_id'])}"] = "Đang triển khai"
    kit.save(wb, "v2.xlsx")
    judged = only(kit.ingest())
    assert (judged["version"], judged["outcome"]) == (2, "accepted")
    rows = ledger_rows(kit, "SELECT original_name, version, is_current, superseded FROM submissions ORDER BY version")
    assert rows == [{"original_name": "v1.xlsx", "version": 1, "is_current": 0, "superseded": 1},
                    {"original_name": "v2.xlsx", "version": 2, "is_current": 1, "superseded": 0}]
    assert {r["code"]: r["value"] for r in ledger_rows(kit, "SELECT code, value FROM current_indicator_values")}[code] == 77
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "history", "--unit", COMMUNE, "--period", "2026S1"])
    assert result.exit_code == 0, result.output
    assert "Xã Tả Lèng (03405), kỳ 6 tháng đầu năm 2026: 2 bản đã nhận." in result.output
    change = next(l for l in result.output.splitlines() if f"chỉ tiêu {code}" in l)
    assert f"{layout.SHEET_INDICATORS}!E{row_of(spec, code)}" in change and "12" in change and "77" in change
    assert "Bản 1 → bản 2: 2 thay đổi" in result.output
    assert "đã thay thế" in result.output and "đang dùng" in result.output


def test_rejected_version_leaves_the_accepted_one_current(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "v1.xlsx")
    kit.ingest()
    _spec, wb = _edit(kit, _set(layout.SHEET_INDICATORS, f"E{I1}", -1))
    kit.save(wb, "v2.xlsx")
    assert only(kit.ingest())["outcome"] == "rejected"
    latest = ledger_rows(kit, "SELECT version, outcome, versions FROM latest_submissions")
    assert latest == [{"version": 2, "outcome": "rejected", "versions": 2}]
    assert ledger_rows(kit, "SELECT original_name FROM submissions WHERE is_current = 1") == [{"original_name": "v1.xlsx"}]


def test_receipt_date_comes_from_the_register(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "thu/ta leng.xlsx")
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "syt.xlsx")
    _spec, wb = kit.filled("03388")
    kit.save(wb, "doan ket.xlsx")
    (kit.folder / "so-den.csv").write_text(
        "Tên tệp,Đơn vị,Ngày đến\r\nthu/ta leng.xlsx,,12/06/2026\r\n,Sở Y tế,2026-06-10\r\n", encoding="utf-8-sig")
    kit.ingest()
    rows = {r["unit_id"]: (r["receipt_date"], r["receipt_source"])
            for r in ledger_rows(kit, "SELECT unit_id, receipt_date, receipt_source FROM submissions")}
    assert rows == {COMMUNE: ("2026-06-12", "so-den"), DEPARTMENT: ("2026-06-10", "so-den"),
                    "03388": ("2026-06-16", "first_seen")}


def test_value_far_from_the_units_earlier_periods_is_a_warning(kit):
    spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "2026.xlsx")
    kit.ingest()
    later = parse_period("2027S1", kit.settings)
    kit2 = Kit(kit.root, kit.settings, kit.registry, kit.matrix, kit.catalogue, later)
    code = spec.indicators[3]["code"]
    spec2, wb = kit2.filled(COMMUNE, values={code: 900})
    kit2.save(wb, "2027.xlsx")
    judged = only(kit2.ingest())
    finding = the(judged, "far_from_history")
    assert (finding["sheet"], finding["cell"], finding["severity"]) == (layout.SHEET_INDICATORS, f"E{row_of(spec2, code)}",
                                                                        "warning")
    assert "Giá trị 900 khác xa các kỳ trước của đơn vị (2026S1: 13)" in finding["message"]
    assert judged["outcome"] == "accepted_with_warnings"


# ---------------------------------------------------------------- outputs

def test_check_report_and_feedback_workbook(kit):
    spec, wb = _edit(kit, _set(layout.SHEET_INDICATORS, f"E{I1}", "nhiều"))
    kit.save(wb, "ta leng.xlsx")
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "syt.xlsx")
    report = kit.ingest()
    check = openpyxl.load_workbook(report.check_report)
    assert check.sheetnames == ["Tổng hợp", "Chi tiết"]
    details = [[c.value for c in row] for row in check["Chi tiết"].iter_rows(min_row=2)]
    assert any(r[0] == COMMUNE and r[4] == layout.SHEET_INDICATORS and r[5] == f"E{I1}" and r[7] == "Lỗi" for r in details)
    assert check["Chi tiết"].auto_filter.ref.startswith("A1:")
    [path] = report.feedback_files
    assert path.name == "2026S1_03405_xa-ta-leng_phan-hoi.xlsx"
    feedback = openpyxl.load_workbook(path)
    assert feedback.sheetnames[0] == "Kết quả kiểm tra"
    cell = feedback[layout.SHEET_INDICATORS][f"E{I1}"]
    assert cell.fill.fgColor.rgb.endswith("F4CCCC")
    assert "'nhiều' không phải là số" in cell.comment.text
    assert cell.value == "nhiều"   # the unit's own file, untouched but for the marks
    assert "CHƯA được chấp nhận" in feedback["Kết quả kiểm tra"]["A3"].value


def test_clean_later_version_removes_the_old_feedback(kit):
    _spec, wb = _edit(kit, _set(layout.SHEET_INDICATORS, f"E{I1}", "nhiều"))
    kit.save(wb, "v1.xlsx")
    [path] = kit.ingest().feedback_files
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "v2.xlsx")
    assert kit.ingest().feedback_files == [] and not path.exists()


def test_same_inputs_give_the_same_bytes(kit, tmp_path, project):
    import shutil

    _spec, wb = _edit(kit, _set(layout.SHEET_INDICATORS, f"E{I1}", "1.200"))
    kit.save(wb, "a.xlsx")
    _write(kit, "b.xlsx", b"")
    first = kit.ingest()
    outputs = [first.check_report.read_bytes(), *(p.read_bytes() for p in first.feedback_files)]
    other = copy_project_data(tmp_path / "again")
    shutil.copytree(project / "inputs" / "submissions", other / "inputs" / "submissions", dirs_exist_ok=True)
    kit2 = Kit(other, load_settings(other), kit.registry, kit.matrix, kit.catalogue, kit.period)
    second = kit2.ingest()
    assert [second.check_report.read_bytes(), *(p.read_bytes() for p in second.feedback_files)] == outputs


def test_cli_ingest_prints_a_summary_per_unit(kit):
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "ta leng.xlsx")
    _write(kit, "rong.xlsx", b"khong phai bang tinh")
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "ingest", "--period", "2026S1"])
    assert result.exit_code == 0, result.output
    assert "03405  Xã Tả Lèng" in result.output and "Chấp nhận" in result.output
    assert "Không chấp nhận" in result.output and "(không xác định)" in result.output
    assert "2 tệp mới; đã kiểm tra 2 tệp: 1 chấp nhận, 0 chấp nhận có cảnh báo, 1 không chấp nhận." in result.output


def test_cli_history_of_an_unknown_unit_is_one_line(kit):
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "history", "--unit", "99999", "--period", "2026S1"])
    assert result.exit_code == 2 and result.output.startswith("Lỗi: Không có đơn vị mã '99999'")


def test_ledger_tables_and_views_exist(kit):
    with Ledger(kit.settings.path("ledger")) as ledger:
        names = {r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master")}
    assert {"runs", "submissions", "findings", "task_reports", "indicator_values", "latest_submissions",
            "current_task_reports", "current_indicator_values"} <= names


def test_annual_period_file_is_accepted(kit):
    annual = parse_period("2026", kit.settings)
    kit_annual = Kit(kit.root, kit.settings, kit.registry, kit.matrix, kit.catalogue, annual)
    spec, wb = kit_annual.filled(COMMUNE)
    kit_annual.save(wb, "ca nam.xlsx")
    judged = only(kit_annual.ingest())
    assert judged["outcome"] == "accepted", judged["findings"]
    assert "DG01" in {r["code"] for r in ledger_rows(kit, "SELECT code FROM current_indicator_values WHERE period = '2026'")}


def test_unit_not_expected_this_period_is_one_finding(kit):
    from pipeline.reference.units import Registry

    _spec, wb = kit.filled("12-SNV")
    kit.save(wb, "noi vu.xlsx")
    units = kit.registry.units.copy()
    units.loc[units["id"] == "12-SNV", "active_from"] = "2027S1"   # added to the registry from 2027
    later = Kit(kit.root, kit.settings, Registry(units=units), kit.matrix, kit.catalogue, kit.period)
    judged = only(later.ingest())
    assert [f["rule"] for f in judged["findings"]] == ["unit_not_expected"]
    assert "không phải báo cáo kỳ 2026S1" in judged["findings"][0]["message"]


def test_empty_folder_says_where_to_put_the_files(kit):
    kit.settings.path("submissions").joinpath("2026S1").mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "ingest", "--period", "2026S1"])
    assert result.exit_code == 0, result.output
    assert "Chưa có tệp nào trong" in result.output and "0 tệp trong thư mục" in result.output


@pytest.mark.parametrize("command", ["ingest", "history"])
def test_commands_are_documented(command):
    from conftest import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"python -m pipeline {command} " in readme and f"make {command} " in readme
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Ví dụ: python -m pipeline " + command in result.output


@pytest.mark.slow   # LibreOffice
@pytest.mark.parametrize("target", ["ods", "xlsm:Calc MS Excel 2007 VBA XML"])
def test_feedback_for_a_file_saved_by_libreoffice(kit, tmp_path, target):
    spec, wb = _edit(kit, _set(layout.SHEET_INDICATORS, f"E{I1}", -2))
    source = tmp_path / "ta-leng.xlsx"
    wb.save(source)
    converted = soffice_convert(source, target, tmp_path / "lo")
    (kit.folder / converted.name).write_bytes(converted.read_bytes())
    [path] = kit.ingest().feedback_files
    with zipfile.ZipFile(path) as archive:   # a plain .xlsx that Excel opens, whatever the unit sent
        assert b"macroEnabled" not in archive.read("[Content_Types].xml")
    feedback = openpyxl.load_workbook(path)
    listing = [[c.value for c in row] for row in feedback["Kết quả kiểm tra"].iter_rows(min_row=6)]
    assert [layout.SHEET_INDICATORS, f"E{I1}", "-2", "Lỗi"] == listing[0][1:5]
    if target == "ods":   # openpyxl cannot write .ods: the list alone, saying so
        assert feedback.sheetnames == ["Kết quả kiểm tra"]
        assert "Tệp gốc dạng .ods" in feedback["Kết quả kiểm tra"]["A3"].value
    else:
        assert feedback[layout.SHEET_INDICATORS][f"E{I1}"].comment is not None


@pytest.mark.parametrize("stage", ["pipeline.intake.examine.identify", "pipeline.intake.validate._extract"])
def test_a_file_that_breaks_a_stage_is_a_finding_and_the_batch_goes_on(kit, monkeypatch, stage):
    import importlib

    module_name, function = stage.rsplit(".", 1)
    module = importlib.import_module(module_name)
    real = getattr(module, function)

    def breaking(item, *args, **kwargs):
        if item.file == "la.xlsx":
            raise ValueError("không lường trước")
        return real(item, *args, **kwargs)

    monkeypatch.setattr(module, function, breaking)
    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "la.xlsx")
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "syt.xlsx")
    by_name = {j["original_name"]: j for j in kit.ingest().judged}
    assert by_name["syt.xlsx"]["outcome"] == "accepted"
    broken = by_name["la.xlsx"]
    assert broken["outcome"] == "rejected"
    assert "lỗi không lường trước (ValueError: không lường trước)" in the(broken, "unexpected_error")["message"]
    assert ledger_rows(kit, "SELECT COUNT(*) AS n FROM indicator_values v JOIN submissions s ON s.id = v.submission_id "
                            "WHERE s.original_name = 'la.xlsx'") == [{"n": 0}]


def test_a_file_that_cannot_be_opened_is_reported_and_left_for_the_next_run(kit, monkeypatch):
    import pipeline.intake.examine as examine_module

    real = examine_module.received_content

    def locked(path):
        if path.name == "dang mo.xlsx":   # as Windows does while Excel holds the file open
            raise PermissionError(13, "Permission denied")
        return real(path)

    _spec, wb = kit.filled(COMMUNE)
    kit.save(wb, "dang mo.xlsx")
    _spec, wb = kit.filled(DEPARTMENT)
    kit.save(wb, "syt.xlsx")
    monkeypatch.setattr(examine_module, "received_content", locked)
    result = CliRunner().invoke(cli, ["--root", str(kit.root), "ingest", "--period", "2026S1"])
    assert result.exit_code == 0, result.output
    assert "Không mở được tệp dang mo.xlsx (Permission denied)" in result.output
    assert "2 tệp trong thư mục, 1 tệp mới" in result.output
    monkeypatch.setattr(examine_module, "received_content", real)
    assert [j["original_name"] for j in kit.ingest().judged] == ["dang mo.xlsx"]
