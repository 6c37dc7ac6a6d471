"""Findings rendered for people: the officer's check workbook and each unit's feedback workbook.

- `outputs/<period>/kiem-tra.xlsx`: every file received for the period (sheet "Tổng hợp") and every
  finding (sheet "Chi tiết"), with filters, from the ledger.
- `outputs/<period>/phan-hoi/<period>_<unit>_<slug>_phan-hoi.xlsx`: for each unit whose latest
  file has findings, a copy of that file with each cell to fix shaded (red: error, yellow: warning)
  and a comment saying what to fix, plus a first sheet listing every finding (the version is named
  inside). A later version replaces it; a later clean version removes it, so the folder only holds
  what is still to send. A unit that sent .ods or .xls gets the list alone (openpyxl writes only
  .xlsx). Files no unit could be identified for: `<period>_khong-ro-don-vi_<sha256[:12]>.xlsx`.

Both are written atomically with fixed document dates, so the same ledger gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import warnings
from pathlib import Path

from pipeline.common.atomic import workbook_bytes, write_bytes
from pipeline.common.cells import put
from pipeline.common.errors import IngestError
from pipeline.store.ledger import OUTCOME_LABELS, Ledger
from pipeline.reference.periods import Period
from pipeline.common.text import ascii_slug, printable
from pipeline.intake.rules import rule_title
from pipeline.common.filetypes import FORMATS, OOXML_FORMATS
from pipeline.common.formatting import dmy_iso

CHECK_REPORT_NAME = "kiem-tra.xlsx"
FEEDBACK_DIR = "phan-hoi"
FEEDBACK_SHEET = "Kết quả kiểm tra"
SEVERITY_LABELS = {"error": "Lỗi", "warning": "Cảnh báo"}
FILLS = {"error": "F4CCCC", "warning": "FFC000"}  # amber: apart from the inputs' pale yellow
FONT = "Times New Roman"
SIGNED_COPY = ("pdf", "image")   # formats of a unit's signed scan, kept beside its workbook


def _timestamp(period: Period) -> dt.datetime:
    return dt.datetime.combine(period.window_start, dt.time())


def outcome_label(outcome: str) -> str:

    return OUTCOME_LABELS.get(outcome, outcome)


def _styles(wb) -> None:
    """Named styles, registered once per workbook: far cheaper than styling each cell."""
    from openpyxl.styles import Alignment, Font, NamedStyle, PatternFill

    if "bc_header" in wb.named_styles:
        return
    wb.add_named_style(NamedStyle("bc_header", font=Font(name=FONT, bold=True),
                                  fill=PatternFill("solid", fgColor="D9E1F2"),
                                  alignment=Alignment(wrap_text=True, vertical="center")))
    wb.add_named_style(NamedStyle("bc_cell", font=Font(name=FONT), alignment=Alignment(wrap_text=True, vertical="top")))
    wb.add_named_style(NamedStyle("bc_date", font=Font(name=FONT), number_format="dd/mm/yyyy",
                                  alignment=Alignment(vertical="top")))


def _table_sheet(ws, headers: list[tuple[str, float]], rows: list[list]) -> None:
    _styles(ws.parent)
    for n, (header, width) in enumerate(headers, start=1):
        put(ws, 1, n, header).style = "bc_header"
        ws.column_dimensions[_letter(n)].width = width
    widths = [w for _h, w in headers]
    for r, values in enumerate(rows, start=2):
        for n, value in enumerate(values, start=1):
            put(ws, r, n, value).style = "bc_date" if isinstance(value, dt.date) else "bc_cell"
        # LibreOffice does not fit row heights to wrapped text on opening: set them
        lines = max((math.ceil(len(str(v)) / max(w * 1.1, 1)) for v, w in zip(values, widths) if v is not None),
                    default=1)
        if lines > 1:
            ws.row_dimensions[r].height = 15 * min(lines, 30)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{_letter(len(headers))}{max(len(rows) + 1, 1)}"
    # read on screen with filters; printed, it fits the width of an A4 landscape page
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def write_check_report(settings, ledger: Ledger, period: Period, registry) -> Path:
    from openpyxl import Workbook

    names = registry.units.set_index("id")["name"]
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    rows = []
    for s in ledger.submissions(period.code, settings.province_code):
        unit = s["unit_id"] or ""
        version = s["version"] if s["version"] is not None else ("bản ký" if s["format"] in SIGNED_COPY else None)
        rows.append([unit, names.get(unit, "") if unit else "(không xác định)", s["original_name"], version,
                     dt.date.fromisoformat(s["receipt_date"]), "sổ công văn đến" if s["receipt_source"] == "so-den" else "ngày nhận tệp",
                     outcome_label(s["outcome"]), s["errors"], s["warnings"],
                     "có" if s["is_current"] else ("đã thay thế" if s["superseded"] else ""),
                     s["sha256"][:12]])
    _table_sheet(summary, [("Mã đơn vị", 11), ("Tên đơn vị", 28), ("Tệp", 40), ("Bản", 6), ("Ngày nhận", 12),
                           ("Nguồn ngày nhận", 16), ("Kết quả", 22), ("Số lỗi", 8), ("Số cảnh báo", 10),
                           ("Bản đang dùng", 12), ("Mã tệp (SHA-256)", 16)], rows)
    details = wb.create_sheet("Chi tiết")
    rows = []
    for f in ledger.findings(period.code, province=settings.province_code):
        unit = f["unit_id"] or ""
        rows.append([unit, names.get(unit, "") if unit else "(không xác định)", f["file"], f["version"], f["sheet"],
                     f["cell"], f["value"], SEVERITY_LABELS[f["severity"]], rule_title(f["rule"], settings), f["message"]])
    _table_sheet(details, [("Mã đơn vị", 10), ("Tên đơn vị", 20), ("Tệp", 26), ("Bản", 5), ("Trang", 11),
                           ("Ô", 8), ("Giá trị", 16), ("Mức độ", 9), ("Quy tắc", 16), ("Nội dung cần sửa", 64)], rows)
    path = settings.path("outputs") / period.code / CHECK_REPORT_NAME
    write_bytes(path, workbook_bytes(wb, _timestamp(period)))
    return path


def feedback_name(period: Period, unit_id: str | None, unit_name: str, sha: str) -> str:
    if unit_id:
        return f"{period.code}_{unit_id}_{ascii_slug(unit_name)}_phan-hoi.xlsx"
    return f"{period.code}_khong-ro-don-vi_{sha[:12]}.xlsx"


def write_unit_feedback(settings, ledger: Ledger, period: Period, registry, submission_ids: list[int]) -> list[Path]:
    """The feedback workbook of each file judged this run (`submission_ids`) that is its unit's
    latest version and has findings; removes a unit's old feedback when its latest version is clean."""
    names = registry.units.set_index("id")["name"]
    outputs = settings.path("outputs")
    folder = outputs / period.code / FEEDBACK_DIR
    wanted = set(submission_ids)
    findings: dict[int, list] = {}
    for f in ledger.findings(period.code, province=settings.province_code):
        if f["submission_id"] in wanted:
            findings.setdefault(f["submission_id"], []).append(f)
    latest: dict[str, int] = {}
    for s in ledger.submissions(period.code, settings.province_code):
        if s["unit_id"] and s["version"]:
            latest[s["unit_id"]] = max(latest.get(s["unit_id"], 0), s["version"])
    written = []
    for s in ledger.submissions(period.code, settings.province_code):
        if s["id"] not in wanted or (s["unit_id"] and s["version"] != latest[s["unit_id"]]):
            continue
        unit_name = names.get(s["unit_id"], "") if s["unit_id"] else ""
        path = folder / feedback_name(period, s["unit_id"], unit_name, s["sha256"])
        if s["id"] not in findings:
            path.unlink(missing_ok=True)
            continue
        try:
            data = feedback_bytes(outputs / s["archive_path"], s, unit_name, findings[s["id"]], period)
        except Exception as exc:  # noqa: BLE001 - one unit's workbook openpyxl cannot write: the list alone
            try:
                data = feedback_bytes(outputs / s["archive_path"], {**dict(s), "format": "list"}, unit_name,
                                      findings[s["id"]], period)
            except Exception:  # noqa: BLE001

                raise IngestError(f"không viết được tệp phản hồi cho tệp {s['original_name']} "
                                  f"({type(exc).__name__}: {exc})") from exc
        write_bytes(path, data)
        written.append(path)
    return written


def feedback_bytes(source: Path, submission, unit_name: str, findings: list, period: Period) -> bytes:
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    wb = None
    if submission["format"] in OOXML_FORMATS:
        try:
            with warnings.catch_warnings():  # openpyxl notes what it drops (LibreOffice's extensions)
                warnings.simplefilter("ignore")
                # values only: a unit's formulas (DDE, links, web functions) never leave in our mail
                wb = load_workbook(io.BytesIO(source.read_bytes()), keep_vba=False, rich_text=False, data_only=True,
                                   keep_links=False)
            _values_only(wb)
        except Exception:  # noqa: BLE001 - a file calamine read but openpyxl cannot: the list alone
            wb = None
    annotated = wb is not None
    if wb is None:
        wb = Workbook()
        wb.active.title = FEEDBACK_SHEET
        sheet = wb.active
    else:
        sheet = wb.create_sheet(FEEDBACK_SHEET, 0)
        wb.active = 0
        for ws in wb.worksheets:
            ws.sheet_view.tabSelected = ws.title == FEEDBACK_SHEET
        by_cell: dict[tuple[str, str], list] = {}
        for f in findings:
            if f["sheet"] in wb.sheetnames and f["cell"]:
                by_cell.setdefault((f["sheet"], f["cell"].split(":")[0]), []).append(f)
        for (sheet_name, ref), group in by_cell.items():
            ws = wb[sheet_name]
            # a cell inside a merged range takes no mark of its own: mark the range's first cell
            ref = next((r.coord.split(":")[0] for r in ws.merged_cells.ranges if ref in r), ref)
            cell = ws[ref]
            worst = "error" if any(f["severity"] == "error" for f in group) else "warning"
            cell.fill = PatternFill("solid", fgColor=FILLS[worst])
            text = "\n".join(f"{SEVERITY_LABELS[f['severity']]}: {f['message']}" for f in group)
            comment = Comment(printable(text), "Sở Y tế")
            comment.width, comment.height = 320, min(60 + 18 * len(text) // 40, 400)
            cell.comment = comment
    _write_feedback_list(sheet, submission, unit_name, findings, period, annotated)
    return workbook_bytes(wb, _timestamp(period))


def _values_only(wb) -> None:
    """The unit's workbook as values: no formula (a cached value read as "=..." stays text), no
    hyperlink, no link to another workbook, no defined name pointing outside, no macro (keep_vba is
    off), and no control character a writer would refuse."""
    wb._external_links = []
    for name in list(wb.defined_names):
        text = str(wb.defined_names[name].attr_text or "")
        if "[" in text or "|" in text or "(" in text:
            del wb.defined_names[name]
    for ws in wb.worksheets:
        ws._hyperlinks = []
        for name in list(ws.defined_names):
            text = str(ws.defined_names[name].attr_text or "")
            if "[" in text or "|" in text or "(" in text:
                del ws.defined_names[name]
        for cell in list(ws._cells.values()):   # (iter_rows would create every empty cell)
            if cell.hyperlink is not None:
                cell.hyperlink = None
            if isinstance(cell.value, str):
                text = printable(cell.value)
                if text != cell.value or cell.data_type == "f" or text.startswith("="):
                    cell.value = text
                    cell.data_type = "s"


def _write_feedback_list(ws, submission, unit_name: str, findings: list, period: Period, annotated: bool) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    errors = sum(1 for f in findings if f["severity"] == "error")
    title = f"KẾT QUẢ KIỂM TRA BÁO CÁO {period.label.upper()}"
    put(ws, 1, 1, title).font = Font(name=FONT, bold=True, size=14)
    who = f"{unit_name} ({submission['unit_id']})" if submission["unit_id"] else "(chưa xác định được đơn vị)"
    put(ws, 2, 1, f"Đơn vị: {who} - Tệp: {submission['original_name']} - Bản {submission['version'] or '-'}, "
                   f"nhận ngày {dmy_iso(submission['receipt_date'])}").font = Font(name=FONT, italic=True)
    verdict = (f"Báo cáo CHƯA được chấp nhận: có {errors} lỗi phải sửa. Hãy sửa các ô dưới đây (ô tô đỏ trong các trang) "
               "rồi gửi lại toàn bộ tệp." if errors else
               "Báo cáo đã được chấp nhận. Các cảnh báo dưới đây (ô tô vàng) cần kiểm tra lại; nếu số liệu đúng, "
               "không cần gửi lại.")
    if not annotated and submission["format"] in FORMATS and submission["format"] not in OOXML_FORMATS:
        verdict += f" (Tệp gốc dạng .{submission['format']}: danh sách dưới đây chỉ rõ trang và ô cần sửa.)"
    put(ws, 3, 1, verdict).font = Font(name=FONT, bold=True, color="C00000" if errors else "806000")
    for row, height in ((1, 22), (2, 32), (3, 34)):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
        ws.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[row].height = height
    # prints on A4 landscape, one page wide, the header row repeated
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "5:5"
    headers = [("STT", 5), ("Trang", 12), ("Ô", 8), ("Giá trị đã ghi", 22), ("Mức độ", 10), ("Cần sửa", 75)]
    for n, (header, width) in enumerate(headers, start=1):
        cell = put(ws, 5, n, header)
        cell.font = Font(name=FONT, bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        ws.column_dimensions[_letter(n)].width = width
    for r, f in enumerate(findings, start=6):
        values = [r - 5, f["sheet"], f["cell"], f["value"], SEVERITY_LABELS[f["severity"]], f["message"]]
        for n, value in enumerate(values, start=1):
            cell = put(ws, r, n, value)
            cell.font = Font(name=FONT)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=r, column=5).fill = PatternFill("solid", fgColor=FILLS[f["severity"]])
        lines = max(math.ceil(len(f["message"]) / (75 * 1.1)), math.ceil(len(str(f["value"])) / (22 * 1.1)), 1)
        if lines > 1:
            ws.row_dimensions[r].height = 15 * min(lines, 30)
    ws.freeze_panes = "A6"


def summary_rows(judged: list[dict]) -> list[dict]:
    """The terminal summary: one row per file judged in the run, accepted first."""
    order = {"accepted": 0, "accepted_with_warnings": 1, "rejected": 2}
    rows = []
    for j in sorted(judged, key=lambda j: (order.get(j["outcome"], 3), j["unit_id"] or "~", j["original_name"])):
        rows.append({"Mã ĐV": j["unit_id"] or "?", "Đơn vị": j["unit_name"] or "(không xác định)",
                     "Tệp": j["original_name"],
                     "Bản": j["version"] or ("bản ký" if j.get("fmt") in SIGNED_COPY else "-"),
                     "Kết quả": outcome_label(j["outcome"]),
                     "Lỗi": sum(1 for f in j["findings"] if f["severity"] == "error"),
                     "Cảnh báo": sum(1 for f in j["findings"] if f["severity"] == "warning")})
    return rows
