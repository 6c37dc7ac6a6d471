"""The audit as tables for the officer: the status workbook (one row per expected unit, the rates
by kind of unit) and the mail-merge CSV (UTF-8 with BOM, for Excel)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd

from pipeline.common.atomic import workbook_bytes
from pipeline.store.ledger import OUTCOME_LABELS
from pipeline.audit.status import (LATE, ON_TIME, REJECTED, rates, rates_by_kind)
from pipeline.common.cells import put
from pipeline.reference.periods import Period
from pipeline.reference.units import COMMUNE
from pipeline.common.formatting import dmy, fixed_percent
from pipeline.audit.legend import FILLS, FONT

# ---------------------------------------------------------------- the workbook

def _note(row) -> str:
    notes = []
    if row["corrected_after_deadline"]:
        notes.append(f"Đã gửi bản sửa ngày {dmy(row['latest_receipt_date'])} (sau hạn); "
                     "thời gian nộp tính theo bản đạt đầu tiên")
    if row["status"] in (ON_TIME, LATE) and row["latest_outcome"] == "rejected":
        notes.append(f"Bản gửi ngày {dmy(row['latest_receipt_date'])} không đạt; đang dùng bản đạt trước đó")
    if row["status"] == REJECTED:
        notes.append("Đơn vị cần sửa theo tệp phản hồi kết quả kiểm tra và gửi lại")
    return "; ".join(notes)


def status_workbook(period: Period, status: pd.DataFrame, as_of: dt.date, addressed_ids: set[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    wb = Workbook()
    ws = wb.active
    ws.title = "Tình hình nộp"
    r = rates(status)
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold, plain = Font(name=FONT, bold=True, size=12), Font(name=FONT, size=12)
    headers = [("STT", 5), ("Mã đơn vị", 13), ("Tên đơn vị", 34), ("Loại", 12), ("Tình trạng", 26),
               ("Ngày nhận", 12), ("Số ngày muộn / quá hạn", 12), ("Số bản đã nhận", 9),
               ("Kết quả kiểm tra bản mới nhất", 22), ("Đôn đốc", 9), ("Ghi chú", 44)]
    last = len(headers)
    title = put(ws, 1, 1, f"TÌNH HÌNH NỘP BÁO CÁO {period.label.upper()}")
    title.font = Font(name=FONT, bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    title.alignment = Alignment(horizontal="center")
    lines = [
        f"Kỳ {period.code}: số liệu từ {dmy(period.window_start)} đến {dmy(period.cutoff)}; "
        f"hạn nộp {dmy(period.deadline)}; tình hình tính đến ngày {dmy(as_of)}.",
        f"Tỷ lệ đầy đủ: {r.accepted}/{r.expected} đơn vị ({fixed_percent(r.completeness)}); tỷ lệ đúng hạn: "
        f"{r.on_time}/{r.expected} ({fixed_percent(r.timeliness)}). Muộn {r.late}, không đạt {r.rejected}, "
        f"chưa nộp {r.missing + r.not_yet_received}.",
    ]
    for n, text in enumerate(lines, start=2):
        cell = put(ws, n, 1, text)
        cell.font = Font(name=FONT, italic=n == 2, size=12)
        ws.merge_cells(start_row=n, start_column=1, end_row=n, end_column=last)
    head = 5
    for n, (header, width) in enumerate(headers, start=1):
        cell = put(ws, head, n, header)
        cell.font, cell.border = bold, border
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[cell.column_letter].width = width
    ws.row_dimensions[head].height = 48   # three lines: LibreOffice does not grow a header row by itself
    kinds = {"department": "Sở, ngành", COMMUNE: "Xã, phường"}
    for i, (_, row) in enumerate(status.iterrows(), start=1):
        days = row["days_late"]
        values = [i, row["unit_id"], row["unit_name"], kinds.get(row["kind"], row["kind"]), row["status_label"],
                  row["receipt_date"], None if pd.isna(days) else int(days), int(row["versions"]),
                  OUTCOME_LABELS.get(row["latest_outcome"], "") if row["latest_outcome"] else "",
                  "Có" if row["unit_id"] in addressed_ids else "", _note(row)]
        for n, value in enumerate(values, start=1):
            cell = put(ws, head + i, n, value)
            cell.font, cell.border = plain, border
            cell.alignment = Alignment(vertical="top", wrap_text=n in (3, 5, 9, 11),
                                       horizontal="center" if n in (1, 2, 6, 7, 8, 10) else "left")
            if isinstance(value, dt.date):
                cell.number_format = "dd/mm/yyyy"
        ws.cell(row=head + i, column=5).fill = PatternFill("solid", fgColor=FILLS[row["status"]])
        # LibreOffice keeps the default height for wrapped text: give long notes the lines they need
        lines = max(_lines(value, headers[n - 1][1]) for n, value in enumerate(values, start=1) if n in (3, 5, 9, 11))
        if lines > 1:
            ws.row_dimensions[head + i].height = 16 * lines
    end = head + len(status)
    ws.freeze_panes = ws.cell(row=head + 1, column=4)
    ws.auto_filter.ref = f"A{head}:{ws.cell(row=max(end, head), column=last).column_letter}{max(end, head)}"
    ws.print_title_rows = f"{head}:{head}"
    _print_setup(ws)

    summary = wb.create_sheet("Tỷ lệ")
    cols = [("Nhóm đơn vị", 18, "group"), ("Phải báo cáo", 10, "expected"), ("Đã nhận", 10, "received"),
            ("Đạt (đầy đủ)", 10, "accepted"), ("Đúng hạn", 10, "on_time"), ("Muộn", 10, "late"),
            ("Không đạt", 10, "rejected"), ("Chưa nộp", 10, "missing"), ("Tỷ lệ đầy đủ", 12, "completeness"),
            ("Tỷ lệ đúng hạn", 12, "timeliness")]
    title = put(summary, 1, 1, f"TỶ LỆ NỘP BÁO CÁO {period.label.upper()} (tính đến ngày {dmy(as_of)})")
    title.font = Font(name=FONT, bold=True, size=13)
    summary.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    for n, (header, width, _) in enumerate(cols, start=1):
        cell = put(summary, 3, n, header)
        cell.font, cell.border = bold, border
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        summary.column_dimensions[cell.column_letter].width = width
    summary.row_dimensions[3].height = 32
    table = rates_by_kind(status)
    table["missing"] = table["missing"] + table["not_yet_received"]
    for i, row in enumerate(table.to_dict("records"), start=4):
        for n, (_, _, key) in enumerate(cols, start=1):
            value = row[key]
            cell = put(summary, i, n, value if isinstance(value, str) else float(value) if key in (
                "completeness", "timeliness") else int(value))
            cell.font = bold if row["group"] == "Tổng số" else plain
            cell.border = border
            if key in ("completeness", "timeliness"):
                cell.number_format = "0.0%"
    foot = 4 + len(table) + 1
    for n, text in enumerate([
        "Tỷ lệ đầy đủ = số đơn vị có báo cáo đạt yêu cầu / số đơn vị phải báo cáo.",
        "Tỷ lệ đúng hạn = số đơn vị có báo cáo đạt yêu cầu nhận được đến hết ngày hạn nộp / số đơn vị phải báo cáo.",
        "Đơn vị gửi bản sửa sau hạn vẫn tính đúng hạn nếu bản đạt đầu tiên nhận được trong hạn; "
        "bản không đạt không được tính là đã nộp.",
    ]):
        cell = put(summary, foot + n, 1, text)
        cell.font = Font(name=FONT, italic=True, size=11)
    _print_setup(summary)
    return workbook_bytes(wb, dt.datetime.combine(as_of, dt.time()))


def _lines(value, width: float) -> int:
    """About how many lines a wrapped text takes in a column `width` characters wide (12 pt Times)."""
    import math

    text = str(value or "")
    return max(1, math.ceil(len(text) / (width * 1.15)))


def _print_setup(ws) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_options.horizontalCentered = True


# ---------------------------------------------------------------- the mail-merge CSV

CSV_COLUMNS = ("Mã đơn vị", "Tên đơn vị", "Email", "Mã tình trạng", "Tình trạng", "Ngày nhận", "Số ngày muộn",
               "Số bản đã nhận", "Hạn nộp", "Hạn nộp mới", "Gửi công văn đôn đốc")


def mail_merge_csv(period: Period, status: pd.DataFrame, new_deadline: dt.date, addressed_ids: set[str]) -> bytes:
    """One line per expected unit; Excel opens it right (BOM, CRLF). `Số ngày muộn`: days past the
    deadline of the accepted report (late) or of the audit day (missing, rejected)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for _, row in status.iterrows():
        writer.writerow([row["unit_id"], row["unit_name"], row["email"], row["status"], row["status_label"],
                         dmy(row["receipt_date"]) if row["receipt_date"] else "",
                         "" if pd.isna(row["days_late"]) else int(row["days_late"]), int(row["versions"]),
                         dmy(period.deadline), dmy(new_deadline),
                         "có" if row["unit_id"] in addressed_ids else "không"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
