"""The rows writer (pipeline/common/sheet_rows.py) writes the bytes openpyxl writes for the same
cells: every kind of value a report holds, awkward texts included, styles numbered alike across
sheets written both ways."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from openpyxl.styles import Border, Font, NamedStyle, Side

from pipeline.common import sheet_rows
from pipeline.common.atomic import workbook_bytes
from pipeline.common.cells import put

STAMP = dt.datetime(2026, 7, 1, 8, 0)
VALUES = ["thường", " đầu có dấu cách", "cuối có dấu cách ", "hai\ndòng", "xuống\r\ndòng Windows", "chỉ\rCR",
          "có\ttab", "&<>\"' ký tự XML", "=SUM(A1)", "+84 912 345 678", "@x", "#DIV/0!", "", "Tiếng Việt có dấu",
          "😀 ngoài BMP", "x" * 40000, "\x07chuông\x0bxuống dòng Word", "\x85 C1", "\u00a0không ngắt\u00a0",
          0, -1, 7, 1.5, -0.0, 1e20, 2 ** 53 + 1, 10 ** 20, 0.1 + 0.2, float("nan"), float("inf"), None, True, False,
          dt.date(2026, 6, 18), dt.datetime(2026, 6, 18, 9, 30), Decimal("1.25")]


def _styles(wb) -> None:
    thin = Side(style="thin", color="999999")
    for name, fmt in (("t_text", "General"), ("t_int", "#,##0"), ("t_pct", "0.0%"), ("t_date", "DD/MM/YYYY")):
        wb.add_named_style(NamedStyle(name, font=Font(name="Times New Roman", bold=name == "t_pct"),
                                      border=Border(left=thin, bottom=thin), number_format=fmt))


def _style_of(c: int, value) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return "t_date"
    if isinstance(value, (int, float)):
        return "t_pct" if c % 2 else "t_int"
    return "t_text" if c != 3 else "Normal"


def _rows():
    # every value in every column, so that each meets each style
    return [VALUES[n:] + VALUES[:n] for n in range(0, len(VALUES), 5)]


def _workbook(as_rows: bool) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _styles(wb)
    for title, table in (("Một", True), ("Ô thường", False), ("Hai", True)):
        ws = wb.create_sheet(title)
        if title == "Ô thường":   # a sheet written by openpyxl between the two: styles numbered in order
            put(ws, 1, 1, "giữa").style = "t_pct"
            continue
        if as_rows:
            sheet_rows.new_table(ws)
        for r, row in enumerate(_rows(), start=1):
            if r % 3 == 0:
                ws.row_dimensions[r].height = 15 * r
            if as_rows:
                sheet_rows.add_row(ws, r, row, _style_of)
                continue
            for c, value in enumerate(row, start=1):
                cell = put(ws, r, c, value)
                cell.style = _style_of(c, cell.value)
        ws.row_dimensions[len(VALUES) + 3].height = 30   # a row with a height and no cell
    return sheet_rows.workbook_bytes(wb, STAMP) if as_rows else workbook_bytes(wb, STAMP)


def test_the_rows_writer_writes_the_bytes_openpyxl_writes():
    expected, written = _workbook(False), _workbook(True)
    assert written == expected
    sheet = openpyxl.load_workbook(io.BytesIO(written))["Hai"]
    assert sheet.cell(1, 9).value == "=SUM(A1)" and sheet.cell(1, 9).data_type == "s"
    assert sheet.cell(1, 6).value == "chỉ\rCR"


def test_without_lxml_the_rows_become_cells(monkeypatch):
    expected = _workbook(False)
    monkeypatch.setattr(openpyxl, "LXML", False)
    assert _workbook(True) == expected


def test_a_text_that_is_not_unicode_is_refused_as_openpyxl_refuses_it():
    wb = openpyxl.Workbook()
    ws = wb.active
    sheet_rows.new_table(ws)
    sheet_rows.add_row(ws, 1, ["nửa cặp \ud83d"], lambda _c, _v: "Normal")
    with pytest.raises(ValueError):
        sheet_rows.workbook_bytes(wb, STAMP)
