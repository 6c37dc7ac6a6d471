"""The audit in the terminal: the status table and the units x periods history, coloured when
the terminal can show colours."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.audit.status import (LATE, MISSING, REJECTED, History, rates)
from pipeline.reference.periods import Period
from pipeline.common.formatting import dmy, fixed_percent
from pipeline.audit.legend import COLOURS, LEGEND, NOT_EXPECTED, SYMBOLS

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
              f"Tỷ lệ đầy đủ {fixed_percent(r.completeness)} ({r.accepted}/{r.expected}); "
              f"tỷ lệ đúng hạn {fixed_percent(r.timeliness)} ({r.on_time}/{r.expected})."]
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
        rows.append(["", label, *[fixed_percent(v) for v in history.rates[key]], *pad])
        marks.append([None] * len(headers))
    lines = table_lines(headers, rows, marks, colour)
    lines += ["", "Ký hiệu: " + "; ".join(f"{sym} {text}" for _, sym, text in LEGEND) + ".",
              "Muộn: số kỳ nộp muộn; Thiếu: số kỳ chưa nộp hoặc không đạt (tính đến ngày kiểm tra)."]
    return lines
