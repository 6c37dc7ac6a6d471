"""The Excel summary `tong-hop-<period>.xlsx`: the appendices as sheets, numbers as numbers, and a
provenance sheet naming the unit, file, sheet and cell of every figure.

Text from units is stored as text explicitly (cell data type "s"): a value beginning with `=`,
`+`, `-` or `@` never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from pipeline.common.sheet_rows import add_row, max_row, new_table, workbook_bytes
from pipeline.report.consolidate import NO_LEAD_REPORT, NOT_APPLICABLE, NOT_STARTED
from pipeline.report.model import appendix1_rows, report_timestamp
from pipeline.report.model import report_context

SHEET_TASKS = "PL I - Nhiệm vụ"
SHEET_CONTRIBUTIONS = "Báo cáo theo đơn vị"
SHEET_INDICATORS = "PL II - Chỉ tiêu"
SHEET_COMPARISON = "PL II - So sánh"
SHEET_GRID = "PL II - Theo đơn vị"
SHEET_SUBMISSIONS = "PL III - Nộp báo cáo"
SHEET_REMARKS = "Khó khăn - Kiến nghị"
SHEET_FINDINGS = "Cần kiểm tra"      # the officer's checks: never printed in the signed report
SHEET_BODY = "Báo cáo"
SHEET_GROUPS = "Tiến độ theo nhóm"
SHEET_PROVENANCE = "Nguồn số liệu"

_BOLD = Font(name="Times New Roman", bold=True, size=11)
_BODY = Font(name="Times New Roman", size=11)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_INT = "#,##0"
_DEC = "#,##0.00"
_AGGREGATION = {"flow": "Cộng dồn theo kỳ", "stock": "Số thời điểm"}
_RULE = {"sum": "Cộng các đơn vị", "provincial": "Số của cơ quan cấp tỉnh; số các xã, phường là «trong đó»"}


def _num(value):
    """A figure as a spreadsheet takes it: a Decimal as a float; an integer beyond a double's range
    (no spreadsheet holds it) as its exact digits in text."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value) if value.is_finite() and abs(value) < Decimal("1e300") else str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 300:
        return str(value)
    return value


def _styles(wb) -> None:
    """Named styles, registered once: assigning a name per cell is far cheaper than a font, a
    border and an alignment each."""
    from openpyxl.styles import NamedStyle

    header = NamedStyle("bc_header", font=_BOLD, fill=_HEADER_FILL, border=_BORDER,
                        alignment=Alignment(wrap_text=True, vertical="center", horizontal="center"))
    wb.add_named_style(header)
    for name, fmt in (("bc_text", "General"), ("bc_int", _INT), ("bc_dec", _DEC), ("bc_pct", "0.0%"),
                      ("bc_date", "DD/MM/YYYY")):
        wb.add_named_style(NamedStyle(name, font=_BODY, border=_BORDER, alignment=_WRAP, number_format=fmt))


def _sheet(wb, title: str, headers: list[tuple[str, float]], rows, *, number_format: dict[int, str] | None = None):
    ws = wb.create_sheet(title)
    new_table(ws)   # the cells kept as rows, written in one piece (pipeline/common/sheet_rows.py)
    add_row(ws, 1, [header for header, _width in headers], lambda _c, _v: "bc_header")
    for c, (header, width) in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    formats = number_format or {}
    widths = [width for _, width in headers]
    ws.row_dimensions[1].height = 15 * max(math.ceil(len(h) / max(w * 0.95, 1)) for h, w in headers)

    def style_of(c: int, value) -> str:
        if isinstance(value, (dt.date, dt.datetime)):
            return "bc_date"
        if isinstance(value, (int, float)) and c in formats:
            return formats[c] if formats[c] == _PCT_STYLE or isinstance(value, float) else _INT_STYLE
        return "bc_text"

    for r, row in enumerate(rows, start=2):
        # an explicit height: LibreOffice does not fit rows of wrapped text when it opens a file
        lines = max((math.ceil(len(v) / max(widths[c] * 1.1, 1)) for c, v in enumerate(row) if isinstance(v, str)),
                    default=1)
        if lines > 1:
            ws.row_dimensions[r].height = min(409, 15 * lines)
        add_row(ws, r, row, style_of)
    ws.freeze_panes = "A2"
    last = max_row(ws)
    if last > 1:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    return ws


_INT_STYLE, _DEC_STYLE, _PCT_STYLE = "bc_int", "bc_dec", "bc_pct"


def excel_bytes(data, context: dict | None = None) -> bytes:
    """The summary workbook; `context`: the report's narrative, when the caller has it already."""
    k, period = data.consolidation, data.period
    wb = Workbook()
    wb.remove(wb.active)
    _styles(wb)
    context = report_context(data) if context is None else context
    body = [("", context["title_line"].upper())]
    body += [("", context["draft_note"])] if context["draft"] else []
    sections = (("I. Tình hình chung", context["situation"]), ("II. Kết quả thực hiện", None),
                ("III. Đánh giá chung", context["assessment"]),
                (f"IV. Phương hướng, nhiệm vụ {context['next_period_label']}", context["next_steps"]),
                ("V. Đề xuất, kiến nghị", context["proposals"]))
    for title, items in sections:
        body.append((title, ""))
        if items is None:
            body.append(("", context["overview"]))
            for g in context["groups"]:
                body += [(f"{g['number']}. {g['title']}", g["progress"])] + [("", line) for line in g["tasks"]]
            body += [("", line) for line in context["comparison_lines"]]
        else:
            body += [(it["text"], "") if it["kind"] == "heading" else ("", it["text"]) for it in items]
    _sheet(wb, SHEET_BODY, [("Mục", 28), ("Nội dung", 110)], body)
    _sheet(wb, SHEET_GROUPS, [("Nhóm", 7), ("Tên nhóm", 44), ("Số nhiệm vụ", 10),
                              ("Đang triển khai hoặc đã hoàn thành", 14), ("Chưa triển khai", 12),
                              ("Cơ quan chủ trì chưa báo cáo", 14), ("Không phát sinh", 12),
                              ("Nhiệm vụ hằng năm", 12), ("Nhiệm vụ hằng năm đã hoàn thành", 14)],
           [(g["group_id"], g["group_title"], g["tasks"], g["on_track"], g[NOT_STARTED], g[NO_LEAD_REPORT],
             g[NOT_APPLICABLE], g["due_once"], g["due_once_done"]) for g in k.groups.to_dict("records")],
           number_format={n: _INT_STYLE for n in range(3, 10)})
    tasks = k.tasks.set_index("task_id")
    _sheet(wb, SHEET_TASKS, [("Mã NV", 8), ("Nhóm", 7), ("Nhiệm vụ", 50), ("Chủ trì", 24), ("Phối hợp", 28),
                             ("Thời gian", 12), ("Tình trạng", 18), ("Đã báo cáo", 30), ("Chưa báo cáo", 30),
                             ("Số lượng sản phẩm", 12)],
           [(r["task_id"], tasks.loc[r["task_id"], "group_id"], r["task"], r["leads"], r["partners"], r["timeframe"],
             r["status"], r["reported_by"], r["not_reported"], tasks.loc[r["task_id"], "quantity"])
            for r in appendix1_rows(k)], number_format={10: _INT_STYLE})
    _sheet(wb, SHEET_CONTRIBUTIONS,
           [("Mã NV", 8), ("Mã đơn vị", 10), ("Cơ quan, đơn vị", 28), ("Vai trò", 10), ("Tình trạng", 16),
            ("Kết quả thực hiện", 60), ("Số lượng sản phẩm", 10), ("Văn bản đã ban hành", 30),
            ("Khó khăn, vướng mắc", 40), ("Đề xuất, kiến nghị", 40), ("Tệp", 30), ("Dòng", 7), ("Bản", 6)],
           [(c.task_id, c.unit_id, c.unit_name, c.role, c.status, c.results, c.quantity, c.documents, c.difficulties,
             c.proposals, c.file, _int(c.row), _int(c.version))
            for c in _rows(k.contributions)], number_format={7: _DEC_STYLE})
    _sheet(wb, SHEET_INDICATORS,
           [("Mã", 8), ("Chỉ tiêu", 60), ("Đơn vị tính", 12), ("Thuộc nhiệm vụ", 12), ("Cách cộng", 16),
            ("Toàn tỉnh", 14), ("Các sở, ngành", 14), ("Các xã, phường", 14), ("Số đơn vị báo cáo", 12),
            ("Số đơn vị phải báo cáo", 12), ("Cách tính toàn tỉnh", 30)],
           [(i.code, i.name, i.unit_of_measure, i.tasks, _AGGREGATION.get(i.aggregation, i.aggregation), _num(i.total),
             _num(i.departments), _num(i.communes), i.units_reported, i.units_owed,
             _RULE.get(i.province_total, i.province_total)) for i in k.indicators.itertuples(index=False)],
           number_format={6: _DEC_STYLE, 7: _DEC_STYLE, 8: _DEC_STYLE})
    if period.is_annual:
        _sheet(wb, SHEET_COMPARISON,
               [("Mã", 8), ("Chỉ tiêu", 60), ("Đơn vị tính", 12), ("Cách cộng", 16), ("6 tháng đầu năm", 14),
                ("6 tháng cuối năm", 14), ("Cả năm", 14), (f"Năm {period.year - 1}", 14), ("So với năm trước", 12),
                ("Cách tính toàn tỉnh", 24), ("Đơn vị không tính vào 6 tháng cuối năm (thiếu 6 tháng đầu năm)", 40)],
               [(c.code, c.name, c.unit_of_measure, _AGGREGATION.get(c.aggregation, c.aggregation), _num(c.first_half),
                 _num(c.second_half), _num(c.annual), _num(c.previous_year), c.change_vs_previous,
                 _RULE.get(c.province_total, c.province_total), c.second_half_left_out)
                for c in k.comparison.itertuples(index=False)],
               number_format={5: _DEC_STYLE, 6: _DEC_STYLE, 7: _DEC_STYLE, 8: _DEC_STYLE, 9: _PCT_STYLE})
    unit_ids, values, owed = data.grid
    names = data.registry.name_of
    codes = k.indicators["code"].tolist()
    grid_rows = [[unit_id, names[unit_id], *[(values[unit_id][c] if owed[unit_id][c] else "-") for c in codes]]
                 for unit_id in unit_ids]
    grid_rows.append(["", "Toàn tỉnh", *map(_num, k.indicators.set_index("code").loc[codes, "total"].tolist())])
    ws = _sheet(wb, SHEET_GRID, [("Mã đơn vị", 10), ("Cơ quan, đơn vị", 30), *[(c, 9) for c in codes]], grid_rows,
                number_format={n: _DEC_STYLE for n in range(3, len(codes) + 3)})
    ws.freeze_panes = "C2"

    signed = data.signed   # the signed scans kept beside the workbooks
    _sheet(wb, SHEET_SUBMISSIONS,
           [("Mã đơn vị", 10), ("Cơ quan, đơn vị", 30), ("Tình trạng", 26), ("Ngày nhận", 12), ("Số ngày muộn", 10),
            ("Số lần gửi", 9), ("Tệp", 30), ("Bản ký (PDF, ảnh)", 30)],
           [(u.unit_id, u.unit_name, u.status_label, u.receipt_date, _int(u.days_late),
             int(u.versions), u.file if isinstance(u.file, str) else "", "; ".join(signed.get(u.unit_id, [])))
            for u in _rows(data.status)])
    _sheet(wb, SHEET_REMARKS, [("Loại", 16), ("Nội dung", 70), ("Cơ quan, đơn vị", 40), ("Nhiệm vụ", 14)],
           [("Khó khăn, vướng mắc" if r.kind == "difficulties" else "Đề xuất, kiến nghị", r.text, ", ".join(r.units),
             ", ".join(r.tasks)) for r in k.remarks.itertuples(index=False)])
    _sheet(wb, SHEET_FINDINGS, [("Mã chỉ tiêu", 10), ("Cơ quan, đơn vị", 30), ("Nội dung cần kiểm tra", 90)],
           [(f.code, f.unit_name, f.message) for f in k.findings.itertuples(index=False)])
    _sheet(wb, SHEET_PROVENANCE,
           [("Loại số liệu", 18), ("Mã chỉ tiêu / nhiệm vụ", 12), ("Mã đơn vị", 10), ("Cơ quan, đơn vị", 30),
            ("Giá trị", 12), ("Tệp", 36), ("Trang tính", 12), ("Ô", 7), ("Bản", 6), ("Ngày nhận", 12)],
           [(p.what, p.code_or_task, p.unit_id, p.unit_name, p.value, p.file, p.sheet, p.cell,
             _int(p.version), _date(p.receipt_date)) for p in _rows(k.provenance)],
           number_format={5: _DEC_STYLE})
    return workbook_bytes(wb, report_timestamp(period))


def _rows(frame):
    """itertuples with pandas' missing markers (NA, NaT) as None; a float NaN stays NaN (a blank cell)."""
    import pandas as pd

    for row in frame.itertuples(index=False):
        yield row._make(None if (v is None or v is pd.NA or v is pd.NaT) else v for v in row)


def _int(value):
    return None if value is None else int(value)


def _date(text):
    return dt.date.fromisoformat(text[:10]) if text else None
