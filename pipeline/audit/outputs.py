"""The audit rendered for people: the terminal table, the status workbook, the mail-merge CSV,
the reminder letter (công văn đôn đốc) and the history page.

Everything here takes the frames `pipeline.audit.status` computes and writes files atomically and
reproducibly: the same ledger and the same `as_of` day give the same bytes (document dates are
the audit day, zip entries carry a fixed time).

Outputs of `write_audit` for period P:
- outputs/P/tinh-hinh-nop-bao-cao.xlsx   one row per expected unit, and the rates by kind of unit;
- outputs/P/tinh-hinh-nop-bao-cao.csv    the same rows for a mail merge (UTF-8 with BOM, for Excel);
- outputs/P/cong-van-don-doc-P.docx      the reminder letter to the units without an accepted
                                          report (none written, and an old one removed, when every
                                          unit has one).
`write_history_page` writes outputs/lich-su-nop-bao-cao.html.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.common.atomic import workbook_bytes, write_bytes
from pipeline.store.ledger import OUTCOME_LABELS
from pipeline.audit.status import (LATE, MISSING, NOT_YET, ON_TIME, REJECTED, STATUSES, History, rates, rates_by_kind,
                            status_label)
from pipeline.common.cells import put
from pipeline.common.docx_finish import Properties, finished_bytes, write_issued
from pipeline.common.errors import BaocaoError, ConfigError
from pipeline.reference.periods import Period
from pipeline.common.text import fold
from pipeline.reference.units import COMMUNE

STATUS_WORKBOOK = "tinh-hinh-nop-bao-cao.xlsx"
MAIL_MERGE_CSV = "tinh-hinh-nop-bao-cao.csv"
LETTER_TEMPLATE = "cong-van-don-doc.docx"
HISTORY_TEMPLATE = "lich-su-nop-bao-cao.html.j2"
HISTORY_PAGE = "lich-su-nop-bao-cao.html"
FONT = "Times New Roman"

# cell shading in the workbook and the page; terminal colours
FILLS = {ON_TIME: "C6EFCE", LATE: "FFEB9C", REJECTED: "F8CBAD", NOT_YET: "DDEBF7", MISSING: "FFC7CE"}
COLOURS = {ON_TIME: "green", LATE: "yellow", REJECTED: "magenta", NOT_YET: "cyan", MISSING: "red"}
SYMBOLS = {ON_TIME: "✓", REJECTED: "!", NOT_YET: "…", MISSING: "✗"}   # late: "+<days>"
NOT_EXPECTED = "·"
LEGEND = [(ON_TIME, "✓", "đúng hạn"), (LATE, "+3", "muộn 3 ngày"), (REJECTED, "!", "không đạt, cần gửi lại"),
          (NOT_YET, "…", "chưa nhận, chưa đến hạn"), (MISSING, "✗", "chưa nộp, quá hạn"),
          (None, NOT_EXPECTED, "không phải báo cáo kỳ này")]
class AuditError(BaocaoError):
    """An audit argument the officer can fix (a new deadline before the audit day, ...)."""


# ---------------------------------------------------------------- dates the Vietnamese way

def vn_date(day: dt.date) -> str:
    """`18/6/2026`, `05/01/2027`: Decree 30 writes a day below 10 and the months 1 and 2 with a leading zero."""
    return f"{_day(day)}/{_month(day)}/{day.year}"


def date_text(day: dt.date) -> str:
    """`ngày 20 tháng 6 năm 2026` (the date line under the motto)."""
    return f"ngày {_day(day)} tháng {_month(day)} năm {day.year}"


def _day(day: dt.date) -> str:
    return f"{day.day:02d}" if day.day < 10 else str(day.day)


def _month(day: dt.date) -> str:
    return f"{day.month:02d}" if day.month < 3 else str(day.month)


def dmy(day: dt.date) -> str:
    """`18/06/2026`: how the other commands and the workbooks write a date."""
    return f"{day:%d/%m/%Y}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + "%"


# ---------------------------------------------------------------- the letter's settings

@dataclass(frozen=True)
class LetterSettings:
    """[document] and [audit] in inputs/config.toml, with defaults from [province]."""

    parent_body: str
    issuing_body: str
    place: str
    standing_unit: str
    symbol: str = "SYT-NVY"
    recipients: tuple[str, ...] = ("Như trên", "Lưu: VT")
    contact_text: str = ""
    new_deadline_days: int = 5
    include_standing_unit: bool = False
    group_communes_from: int = 6

    @classmethod
    def from_settings(cls, settings) -> "LetterSettings":
        doc, audit = settings.document, settings.audit
        try:
            days = int(audit.get("new_deadline_days", 5))
        except (TypeError, ValueError):
            raise ConfigError(f"[audit] new_deadline_days phải là số ngày, không phải {audit['new_deadline_days']!r}") from None
        if days < 1:
            raise ConfigError("[audit] new_deadline_days phải từ 1 ngày trở lên")
        recipients = audit.get("letter_recipients", list(cls.recipients))
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise ConfigError('[audit] letter_recipients phải là danh sách, ví dụ ["Như trên", "Lưu: VT"]')
        return cls(
            parent_body=str(doc.get("parent_body", settings.parent_body)),
            issuing_body=str(doc.get("issuing_body", settings.standing_unit.upper())),
            place=str(doc.get("place", settings.province_name)),
            standing_unit=settings.standing_unit,
            symbol=str(audit.get("letter_symbol", cls.symbol)),
            recipients=tuple(r.strip() for r in recipients if r.strip()),
            contact_text=str(audit.get("contact_text", "")).strip(),
            new_deadline_days=days,
            include_standing_unit=bool(audit.get("include_standing_unit", False)),
            group_communes_from=_whole(audit, "group_communes_from", 6),
        )


def _whole(section: dict, key: str, default: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"[audit] {key} phải là số nguyên không âm, không phải {value!r}")
    return value


def default_new_deadline(as_of: dt.date, days: int) -> dt.date:
    """`days` after the audit day, moved to the Monday when it falls on a weekend."""
    day = as_of + dt.timedelta(days=days)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


def resolve_new_deadline(period: Period, as_of: dt.date, new_deadline: dt.date | None, letter: LetterSettings) -> dt.date:
    """The deadline the letter sets: the original one while it has not passed; after it, the
    officer's `--new-deadline`, else [audit] new_deadline_days after the audit day."""
    if as_of <= period.deadline:
        return period.deadline
    if new_deadline is None:
        return default_new_deadline(as_of, letter.new_deadline_days)
    if new_deadline <= as_of:
        raise AuditError(f"Hạn nộp mới {dmy(new_deadline)} phải sau ngày kiểm tra {dmy(as_of)}.")
    return new_deadline


def addressee_name(unit) -> str:
    """How the letter addresses a unit: a department by its name, a commune by its People's Committee."""
    if unit["kind"] == COMMUNE:
        name = unit["unit_name"]
        return f"UBND {name[:1].lower()}{name[1:]}"
    return unit["unit_name"]


def addressee_lines(addressed: pd.DataFrame, group_communes_from: int) -> list[str]:
    """The "Kính gửi:" lines: each department; each commune, or, from `group_communes_from` communes
    on (0: never), one line "UBND các xã, phường: Đoàn Kết, Bình Lư, ..." as officers write it."""
    lines = [addressee_name(u) for _, u in addressed[addressed["kind"] != COMMUNE].iterrows()]
    communes = addressed[addressed["kind"] == COMMUNE]
    if not group_communes_from or len(communes) < group_communes_from:
        return lines + [addressee_name(u) for _, u in communes.iterrows()]
    parts = [name.split(" ", 1) if " " in name else ["", name] for name in communes["unit_name"]]
    divisions = {division.lower() for division, _ in parts}
    label = "xã" if divisions == {"xã"} else "phường" if divisions == {"phường"} else "xã, phường"
    return lines + [f"UBND các {label}: {', '.join(short for _, short in parts)}"]


def letter_addressees(status: pd.DataFrame, letter: LetterSettings) -> pd.DataFrame:
    """The rows the letter addresses: every unit without an accepted report (missing, not yet
    received, rejected), except the standing unit itself, which does not write to itself."""
    wanted = status[status["needs_reminder"]]
    if not letter.include_standing_unit:
        own = fold(letter.standing_unit)
        wanted = wanted[~wanted["unit_name"].map(fold).eq(own) & ~wanted["short_name"].map(fold).eq(own)]
    return wanted


# ---------------------------------------------------------------- the letter

def letter_context(settings, period: Period, addressed: pd.DataFrame, as_of: dt.date, new_deadline: dt.date,
                   letter: LetterSettings) -> dict:
    recipients = [f"- {r}" for r in letter.recipients]
    recipients = [r + ("." if n == len(recipients) - 1 else ";") for n, r in enumerate(recipients)]
    return {
        "parent_body": letter.parent_body,
        "issuing_body": letter.issuing_body,
        "place": letter.place,
        "date_text": date_text(as_of),
        "symbol": letter.symbol,
        "period_label": period.label,
        "period_code": period.code,
        "window_text": f"ngày {vn_date(period.window_start)} đến ngày {vn_date(period.cutoff)}",
        "deadline_text": vn_date(period.deadline),
        "new_deadline_text": vn_date(new_deadline),
        "overdue": as_of > period.deadline,
        "has_missing": bool(addressed["status"].isin([MISSING, NOT_YET]).any()),
        "has_rejected": bool((addressed["status"] == REJECTED).any()),
        "standing_unit": letter.standing_unit,
        "addressees": addressee_lines(addressed, letter.group_communes_from),
        "recipients": recipients,
        "contact_text": letter.contact_text,
        "plan_years": f"{settings.plan_first_year}-{settings.plan_last_year}",
        "province_name": settings.province_name,
    }


def render_letter(template: Path, context: dict, as_of: dt.date) -> bytes:
    """The letter as reproducible .docx bytes (autoescaped, a missing variable fails loudly)."""
    from docxtpl import DocxTemplate
    from jinja2 import Environment, StrictUndefined
    from jinja2.exceptions import TemplateError

    if not template.is_file():
        raise ConfigError(f"Không tìm thấy mẫu công văn {template} (tạo lại: python -m scripts.word_templates)")
    document = DocxTemplate(template)
    try:
        document.render(context, jinja_env=Environment(undefined=StrictUndefined, autoescape=True), autoescape=True)
    except TemplateError as exc:
        raise ConfigError(f"Mẫu công văn {template.name} có lỗi: {exc}") from exc
    return finished_bytes(document, Properties(
        f"Công văn đôn đốc gửi báo cáo kết quả thực hiện công tác phòng, chống mại dâm {context['period_label']}",
        f"Kế hoạch phòng, chống mại dâm giai đoạn {context['plan_years']} tỉnh {context['province_name']}",
        context["standing_unit"], dt.datetime.combine(as_of, dt.time())))


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
        f"Tỷ lệ đầy đủ: {r.accepted}/{r.expected} đơn vị ({_percent(r.completeness)}); tỷ lệ đúng hạn: "
        f"{r.on_time}/{r.expected} ({_percent(r.timeliness)}). Muộn {r.late}, không đạt {r.rejected}, "
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


# ---------------------------------------------------------------- the terminal

def use_colour(stream) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    import os

    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def _paint(text: str, status: str | None, colour: bool) -> str:
    if not colour or status is None:
        return text
    import click

    return click.style(text, fg=COLOURS[status], bold=status in (MISSING, REJECTED))


def table_lines(headers: list[str], rows: list[list[str]], statuses: list[list[str | None]], colour: bool) -> list[str]:
    """Left-aligned columns; a cell is coloured by its status after padding, so columns stay aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row, marks in zip(rows, statuses):
        cells = [_paint(v.ljust(w), s, colour) for v, w, s in zip(row, widths, marks)]
        lines.append("  ".join(cells).rstrip())
    return lines


def status_lines(period: Period, status: pd.DataFrame, as_of: dt.date, colour: bool) -> list[str]:
    headers = ["Mã", "Đơn vị", "Tình trạng", "Ngày nhận", "Số bản"]
    rows, marks = [], []
    for _, row in status.iterrows():
        rows.append([row["unit_id"], row["unit_name"], row["status_label"],
                     dmy(row["receipt_date"]) if row["receipt_date"] else "", str(int(row["versions"]))])
        marks.append([None, None, row["status"], None, None])
    r = rates(status)
    lines = table_lines(headers, rows, marks, colour) if rows else ["(không có đơn vị nào phải báo cáo)"]
    lines += ["", f"Kỳ {period.label}, hạn nộp {dmy(period.deadline)}, tính đến ngày {dmy(as_of)}: "
                  f"{r.expected} đơn vị phải báo cáo.",
              f"Đúng hạn {r.on_time}, muộn {r.late}, không đạt {r.rejected}, chưa nộp {r.missing}"
              + (f", chưa nhận (chưa đến hạn) {r.not_yet_received}" if r.not_yet_received else "") + ".",
              f"Tỷ lệ đầy đủ {_percent(r.completeness)} ({r.accepted}/{r.expected}); "
              f"tỷ lệ đúng hạn {_percent(r.timeliness)} ({r.on_time}/{r.expected})."]
    return lines


def history_cell(status, days_late) -> str:
    if not isinstance(status, str):
        return NOT_EXPECTED
    if status == LATE:
        return f"+{int(days_late)}"
    return SYMBOLS[status]


def history_lines(history: History, colour: bool) -> list[str]:
    if not history.periods:
        return ["Sổ cái chưa có kỳ báo cáo nào: chạy python -m pipeline ingest --period <kỳ> trước."]
    grid, days = history.grid("status"), history.grid("days_late")
    counts = history.unit_counts()
    headers = ["Mã", "Đơn vị", *history.periods, "Muộn", "Thiếu"]
    rows, marks = [], []
    for unit in history.units.itertuples(index=False):
        statuses = [grid.at[unit.id, p] for p in history.periods]
        cells = [history_cell(s, days.at[unit.id, p]) for s, p in zip(statuses, history.periods)]
        c = counts.loc[unit.id]
        rows.append([unit.id, unit.short_name, *cells, str(int(c[LATE])), str(int(c[MISSING] + c[REJECTED]))])
        marks.append([None, None, *[s if isinstance(s, str) else None for s in statuses], None, None])
    pad = [""] * 2
    for label, key in (("Tỷ lệ đầy đủ", "completeness"), ("Tỷ lệ đúng hạn", "timeliness")):
        rows.append(["", label, *[_percent(v) for v in history.rates[key]], *pad])
        marks.append([None] * len(headers))
    lines = table_lines(headers, rows, marks, colour)
    lines += ["", "Ký hiệu: " + "; ".join(f"{sym} {text}" for _, sym, text in LEGEND) + ".",
              "Muộn: số kỳ nộp muộn; Thiếu: số kỳ chưa nộp hoặc không đạt (tính đến ngày kiểm tra)."]
    return lines


# ---------------------------------------------------------------- the history page

def history_page(settings, history: History, as_of: dt.date, templates: Path) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(str(templates)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                      trim_blocks=True, lstrip_blocks=True)
    grid, days = history.grid("status"), history.grid("days_late")
    counts = history.unit_counts()
    labels = {p: r["label"] for p, r in zip(history.periods, history.rates.to_dict("records"))}
    rows = []
    for unit in history.units.itertuples(index=False):
        cells = []
        for p in history.periods:
            s = grid.at[unit.id, p]
            known = isinstance(s, str)
            cells.append({"status": s if known else "none", "text": history_cell(s, days.at[unit.id, p]),
                          "title": status_label(s, None if pd.isna(days.at[unit.id, p]) else int(days.at[unit.id, p]))
                          if known else "Không phải báo cáo kỳ này"})
        c = counts.loc[unit.id]
        rows.append({"id": unit.id, "name": unit.name, "cells": cells, "late": int(c[LATE]),
                     "missing": int(c[MISSING] + c[REJECTED]), "expected": int(c["expected"])})
    rates_rows = [{"period": r["period"], "label": r["label"], "deadline": dmy(r["deadline"]),
                   "expected": r["expected"], "accepted": r["accepted"], "on_time": r["on_time"],
                   "completeness": _percent(r["completeness"]), "timeliness": _percent(r["timeliness"])}
                  for r in history.rates.to_dict("records")]
    return env.get_template(HISTORY_TEMPLATE).render(
        province_name=settings.province_name, standing_unit=settings.standing_unit, as_of=dmy(as_of),
        periods=[{"code": p, "label": labels[p]} for p in history.periods], rows=rows, rates=rates_rows,
        legend=[{"status": s or "none", "symbol": sym, "text": text} for s, sym, text in LEGEND],
        fills={**FILLS, "none": "FFFFFF"})


# ---------------------------------------------------------------- writing it all

@dataclass
class AuditOutputs:
    workbook: Path
    csv: Path
    letter: Path | None
    addressed: list[str] = field(default_factory=list)   # unit ids the letter addresses
    new_deadline: dt.date | None = None
    removed_letter: bool = False


def letter_path(settings, period: Period) -> Path:
    return settings.path("outputs") / period.code / f"cong-van-don-doc-{period.code}.docx"


def write_audit(settings, period: Period, status: pd.DataFrame, as_of: dt.date,
                new_deadline: dt.date | None = None) -> AuditOutputs:
    letter = LetterSettings.from_settings(settings)
    deadline = resolve_new_deadline(period, as_of, new_deadline, letter)
    addressed = letter_addressees(status, letter)
    ids = set(addressed["unit_id"])
    folder = settings.path("outputs") / period.code
    outputs = AuditOutputs(folder / STATUS_WORKBOOK, folder / MAIL_MERGE_CSV, None,
                           addressed["unit_id"].tolist(), deadline)
    write_bytes(outputs.workbook, status_workbook(period, status, as_of, ids))
    write_bytes(outputs.csv, mail_merge_csv(period, status, deadline, ids))
    path = letter_path(settings, period)
    if len(addressed):
        context = letter_context(settings, period, addressed, as_of, deadline, letter)
        outputs.letter = write_issued(path, render_letter(settings.root / "templates" / LETTER_TEMPLATE, context, as_of),
                                      settings.path("outputs"))
    elif path.is_file():
        path.unlink()  # an old letter must not be sent to units that have since reported
        outputs.removed_letter = True
    return outputs


def write_history_page(settings, history: History, as_of: dt.date) -> Path:
    path = settings.path("outputs") / HISTORY_PAGE
    html = history_page(settings, history, as_of, settings.root / "templates")
    write_bytes(path, html.encode("utf-8"))
    return path


__all__ = ["STATUSES", "AuditOutputs", "LetterSettings", "write_audit", "write_history_page", "status_lines",
           "history_lines", "use_colour", "vn_date", "date_text"]
