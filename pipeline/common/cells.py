"""Writing one spreadsheet cell so that it stays what it is.

Every workbook baocao writes (the summary, the audit, the findings and feedback) goes through
`put`: numbers stay numbers, a blank stays blank, and text — above all text typed by a unit — is
stored as text explicitly, so that "=SUM(A1)", "+84..." or "@x" never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import math

from pipeline.common.text import printable


# The longest text a cell holds (Excel's limit; openpyxl cuts a longer one there too).
_MAX_TEXT = 32767
BLANK = (None, "n")


def plain(value) -> tuple[object, str] | None:
    """(value, data type) `put` stores for a text, a number or a blank (BLANK), without openpyxl's
    value setter, which would infer the type again and search every text for the characters
    `printable` has already removed (a third of the time of a large workbook); None for anything
    else, which the setter stores. What is stored is what the setter would store."""
    kind = value.__class__
    if kind is str:
        return printable(value)[:_MAX_TEXT], "s"
    if kind is int or (kind is float and not math.isnan(value)):
        return (int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else float(value)), "n"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return BLANK
    return None


def put(ws, row: int, column: int, value):
    """One cell: numbers as numbers, NaN as blank, dates as dates, everything else as text."""
    cell = ws.cell(row=row, column=column)
    stored = plain(value)
    if stored is not None:
        if stored is not BLANK:   # (a blank leaves the cell as it is)
            cell._value, cell.data_type = stored
        return cell
    if isinstance(value, bool):
        cell.value = "Có" if value else "Không"
        cell.data_type = "s"
    elif isinstance(value, (dt.date, dt.datetime)):
        cell.value = value
    elif isinstance(value, (int, float)):
        cell.value = int(value) if float(value).is_integer() and abs(value) < 2 ** 53 else float(value)
    else:
        cell.value = printable(str(value))   # (a control character would make openpyxl refuse the cell)
        if cell.value:
            cell.data_type = "s"   # "=SUM(A1)" typed by a unit stays these eight characters
    return cell
